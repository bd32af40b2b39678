// The PyTorch side of the model comparisons (compare kws, tagging, tagging-resnet): a python3 process that imports
// the reference ../shared/reference/bench.py and runs its time_case step body line for line on request
// ("setup NAME MODE BATCH THREADS" with NAME one of bench.py's CASES, then "run" -> its own seconds), so our
// step is measured against exactly what bench.py times, alternating in one run.
namespace Cochlea.Bench.Compare;

public static class ReferenceBench
{
    /// <summary>The anchor process, or null (the reason on stderr, prefixed by <paramref name="who"/>) when python3, torch or bench.py is missing.</summary>
    public static PythonAnchor? Start(string who)
    {
        var reference = PythonAnchor.FindReference();
        if (reference is null || !File.Exists(Path.Combine(reference, "bench.py")))
        {
            Console.Error.WriteLine($"{who}: the reference bench.py was not found (../shared/reference beside the repository, or set COCHLEA_REFERENCE); no anchor.");
            return null;
        }
        return PythonAnchor.Start(who, Script, reference);
    }

    // The step is bench.py's time_case loop body, line for line (train: zero_grad, loss_of(model(x)), backward, step).
    const string Script = """
        import sys, time
        try:
            import torch
            sys.path.insert(0, sys.argv[1])
            import bench as B
        except Exception as e:
            print("notorch", repr(e), flush=True); sys.exit(0)
        print("ok", torch.__version__, flush=True)
        st = {}
        def step():
            name, mode, model, x, opt = st["name"], st["mode"], st["model"], st["x"], st["opt"]
            t0 = time.perf_counter()
            if mode == "train":
                model.train()
                opt.zero_grad(set_to_none=True)
                loss = B.loss_of(name, model, x, model(x))
                loss.backward()
                opt.step()
            else:
                model.eval()
                with torch.no_grad():
                    model(x)
            return time.perf_counter() - t0
        for line in sys.stdin:
            w = line.split()
            if not w: continue
            if w[0] == "setup":
                name, mode, batch, n = w[1], w[2], int(w[3]), int(w[4])
                torch.set_num_threads(n)
                torch.manual_seed(0)
                make, inp, _ = B.CASES[name]
                model = make()
                st.update(name=name, mode=mode, model=model, x=inp(batch), opt=torch.optim.Adam(model.parameters(), lr=1e-4))
                print("ready", torch.get_num_threads(), flush=True)
            elif w[0] == "run":
                print(repr(step()), flush=True)
            else:
                break
        """;
}
