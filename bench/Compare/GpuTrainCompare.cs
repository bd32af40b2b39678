// `compare gpu-train`: one training step (zero_grad + forward in train mode + cross-entropy + backward + Adam 1e-4)
// of WaveKws (B=64, (B, 16000)), DeepSpeechKws (B=64, (B, 99, 161)), TutorialConv (B=100, (B, 98, 40)) and
// FreesoundCnn (B=32, (B, 8000)) on cuda:0, in ms, against the same step of the PyTorch reference models
// (../shared/reference/models.py through bench.py's CASES and loss_of, as `bench.py --device cuda` times them;
// TutorialConv is not in models.py, so the script below carries a transcription of src/Models/Kws/TutorialConv.cs).
// Both sides: fp32 with TF32 off (torch: matmul and cuDNN allow_tf32 = False), wall clock from a synchronize to a
// synchronize, alternating step by step. Then our model keeps training to step 1000, and device memory in use
// after step 10 and after step 1000 is reported as one more row (flat: the ratio is 1).
// COCHLEA_GPU_TRAIN_MODELS=WaveKws (names or labels, comma-separated; default all) picks models, e.g. to time WaveKws
// once per COCHLEA_CUDA_DEPTHWISE choice; each row's note names the depthwise and Linear-bias (COCHLEA_CUDA_LT) choices in force.
using Module = Cochlea.Nn.Module;
using Cochlea.Cuda;
using Cochlea.Models.Kws;
using Cochlea.Models.Tagging;

namespace Cochlea.Bench.Compare;

public sealed class GpuTrainCompare : ICompareSuite
{
    public string Name => "gpu-train";
    public string Description => "training step on cuda:0 (WaveKws, DeepSpeechKws, TutorialConv, FreesoundCnn) vs the PyTorch reference on the same GPU, ms; memory at steps 10 and 1000";

    const int MemorySteps = 1000;
    // COCHLEA_BENCH_SMOKE=1 (GpuBench.Smoke): batch 2, a few timed steps, memory at steps 10 and 30.
    const int SmokeBatch = 2, SmokeMemorySteps = 30;

    // (reference name, our label, batch)
    internal static readonly (string Name, string Label, int Batch)[] Cases =
    [
        ("wavekws", "WaveKws", 64),
        ("dskws", "DeepSpeechKws", 64),
        ("tutorialconv", "TutorialConv", 100),
        ("freesound", "FreesoundCnn", 32),
    ];

    const string Script = """
        import sys, time
        try:
            import torch, torch.nn as nn, torch.nn.functional as F
            sys.path.insert(0, sys.argv[1])
            import bench as B
            assert torch.cuda.is_available(), "torch sees no CUDA device"
        except Exception as e:
            print("notorch", repr(e), flush=True); sys.exit(0)
        print("ok", torch.__version__, flush=True)
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        class TutorialConv(nn.Module):   # src/Models/Kws/TutorialConv.cs ('same' = odd pad element after, as torch)
            def __init__(s, classes=12, time=98, freq=40, p=0.5):
                super().__init__()
                s.conv1 = nn.Conv2d(1, 64, (20, 8), padding="same")
                s.conv2 = nn.Conv2d(64, 64, (10, 4), padding="same")
                s.fc = nn.Linear(64 * (time // 2) * (freq // 2), classes)
                s.drop = nn.Dropout(p)
            def forward(s, x):
                x = F.max_pool2d(s.drop(F.relu(s.conv1(x.unsqueeze(1)))), 2)
                return s.fc(s.drop(F.relu(s.conv2(x))).flatten(1))
        CASES = dict(B.CASES)
        CASES["tutorialconv"] = (lambda: TutorialConv(), lambda b: torch.randn(b, 98, 40), (100, 1))
        dev = torch.device("cuda")
        st = {}
        def step():
            name, model, x, opt = st["name"], st["model"], st["x"], st["opt"]
            torch.cuda.synchronize()
            t0 = time.perf_counter()
            model.train()
            opt.zero_grad(set_to_none=True)
            loss = B.loss_of(name, model, x, model(x))
            loss.backward()
            opt.step()
            torch.cuda.synchronize()
            return time.perf_counter() - t0
        for line in sys.stdin:
            w = line.split()
            if not w: continue
            if w[0] == "setup":
                name, batch = w[1], int(w[2])
                torch.manual_seed(0)
                make, inp, _ = CASES[name]
                model = make().to(dev)
                st.update(name=name, model=model, x=inp(batch).to(dev), opt=torch.optim.Adam(model.parameters(), lr=1e-4))
                print("ready", flush=True)
            elif w[0] == "run":
                print(repr(step()), flush=True)
            else:
                break
        """;

    // The cases named in `filter` (reference names or labels, comma-separated, any case); all when it is empty.
    internal static (string Name, string Label, int Batch)[] PickedCases(string? filter)
    {
        var wanted = filter?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) ?? [];
        if (wanted.Length == 0) return Cases;
        foreach (var w in wanted)
            if (!Cases.Any(c => c.Name.Equals(w, StringComparison.OrdinalIgnoreCase) || c.Label.Equals(w, StringComparison.OrdinalIgnoreCase)))
                throw new ArgumentException($"COCHLEA_GPU_TRAIN_MODELS: no model '{w}'; use some of {string.Join(", ", Cases.Select(c => c.Label))} (comma-separated), or unset it.");
        return Cases.Where(c => wanted.Any(w => c.Name.Equals(w, StringComparison.OrdinalIgnoreCase) || c.Label.Equals(w, StringComparison.OrdinalIgnoreCase))).ToArray();
    }

    public IEnumerable<CompareResult> Run()
    {
        var dev = GpuBench.RequireGpu("compare gpu-train");
        CudaOptions.AllowTf32 = false;
        bool smoke = GpuBench.Smoke;
        int memorySteps = smoke ? SmokeMemorySteps : MemorySteps;
        var reference = PythonAnchor.FindReference();
        using var torch = reference is null ? null : PythonAnchor.Start("compare gpu-train", Script, reference);
        if (reference is null) Console.Error.WriteLine("compare gpu-train: ../shared/reference (bench.py, models.py) not found; set COCHLEA_REFERENCE. No anchor.");
        var picked = PickedCases(Environment.GetEnvironmentVariable("COCHLEA_GPU_TRAIN_MODELS"));
        foreach (var (name, label, fullBatch) in picked)
        {
            int batch = smoke ? SmokeBatch : fullBatch;
            using var c = Build(name, batch, dev);
            bool anchored = torch is not null && torch.Setup($"{name} {batch}");
            var (budget, minReps, maxReps, warmup) = smoke ? (0.0, 2, 2, 1) : (10.0, 10, 51, 3);
            var (ours, anchor) = Timing.Alternate(() => Timing.Time(c.Step), anchored ? torch!.RunOnce : null, budget, minReps, maxReps, warmup);
            yield return new CompareResult($"{label} train step B={batch} cuda:0", 0, ours * 1e3, anchor * 1e3, "ms",
                anchored ? $"torch {torch!.Version} reference {name} train (zero_grad+fwd+loss+bwd+Adam), fp32, TF32 off, cuda; ours: depthwise {CudaOptions.DepthwiseKernels}, linear bias {CudaOptions.LinearBiasEpilogue}"
                    : $"PyTorch reference on cuda (not available); ours: depthwise {CudaOptions.DepthwiseKernels}, linear bias {CudaOptions.LinearBiasEpilogue}", false);
            double at10 = TrainUntil(c, dev, 10), atEnd = TrainUntil(c, dev, memorySteps);
            yield return new CompareResult($"{label} GPU MiB in use at step {memorySteps} (anchor: step 10)", 0, atEnd, at10, "MiB",
                "same run at step 10 (cuMemGetInfo total - free; 1.0 = flat)", false);
        }
    }

    /// <summary>Our side: the model on the GPU, its input and labels there, Adam(1e-4), and a step that ends synchronized
    /// (unless <paramref name="syncEachStep"/> is false: `gpu-audit` counts the step's own host waits).</summary>
    internal static ModelStepCase Build(string name, int batch, CudaDevice dev, bool syncEachStep = true)
    {
        var (net, classes, shape) = name switch
        {
            "wavekws" => ((Module)new WaveKws(numClasses: 12), 12, new[] { batch, 16000 }),
            "dskws" => (new DeepSpeechKws(numClasses: 21), 21, new[] { batch, 99, 161 }),
            "tutorialconv" => (new TutorialConv(numClasses: 12), 12, new[] { batch, 98, 40 }),
            _ => (new FreesoundCnn(numClasses: 41), 41, new[] { batch, 8000 }),
        };
        return new ModelStepCase(net, classes, shape, new Random(batch * 7 + 1), train: true, dev.Device, syncEachStep ? dev.Synchronize : null);
    }

    /// <summary>Steps until <paramref name="step"/> steps have run in all, then returns the device memory in use (MiB).</summary>
    static double TrainUntil(ModelStepCase c, CudaDevice dev, int step)
    {
        while (c.Steps < step) c.Step();
        return GpuBench.UsedMiB(dev);
    }
}
