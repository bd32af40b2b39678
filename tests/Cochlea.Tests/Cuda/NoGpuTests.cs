// The "no GPU" path, tested for real on machines without one (this dev box has libcuda.so.1
// but no device, so cuInit answers CUDA_ERROR_NO_DEVICE), and the promise that CPU-only use
// never probes CUDA at all.
using System.Reflection;
using System.Runtime.Loader;
using Cochlea.Cuda;
using Cochlea.Nn;
using NUnit.Framework;

namespace Cochlea.Tests.Cuda;

public class NoGpuTests
{
    static void RequireNoGpu() => Assume.That(!CudaBackend.IsAvailable, "this machine has a usable GPU; the no-GPU path cannot be observed here");

    [Test]
    public void UnavailableReasonNamesTheCause()
    {
        RequireNoGpu();
        string reason = CudaBackend.UnavailableReason!;
        Assert.That(reason, Does.StartWith("libcuda.so.1 not found (no NVIDIA driver)").Or.StartWith("cuInit: CUDA_ERROR_").Or.StartWith("cuDeviceGetCount"));
        if (reason.StartsWith("cuInit: CUDA_ERROR_NO_DEVICE", StringComparison.Ordinal))
            Assert.That(reason, Does.Contain("(no CUDA-capable GPU)"));
        Assert.That(CudaBackend.DeviceCount, Is.Zero);
        Assert.That(CudaBackend.HasProbed, Is.True);
    }

    [Test]
    public void AskingForACudaTensorThrowsTheReason()
    {
        RequireNoGpu();
        string reason = CudaBackend.UnavailableReason!;
        var e = Assert.Throws<CudaException>(() => CudaBackend.Get(0))!;
        Assert.That(e.Message, Does.StartWith("cuda:0 cannot be used: CUDA is not available on this machine: ").And.EndWith(reason));
        e = Assert.Throws<CudaException>(() => Tensor.Empty([2, 3], DType.Float32, Device.Cuda(0)))!;
        Assert.That(e.Message, Does.Contain(reason));
        using var x = Tensor.Ones(2, 3);
        Assert.That(() => x.To(Device.Cuda(0)), Throws.TypeOf<CudaException>().With.Message.Contains(reason));
        Assert.That(() => Tensor.Zeros(Device.Cuda(1), 4), Throws.TypeOf<CudaException>().With.Message.StartWith("cuda:1 cannot be used"));
        using var m = new Linear(3, 2);
        Assert.That(() => m.To(Device.Cuda(0)), Throws.TypeOf<CudaException>().With.Message.Contains(reason));
        Assert.That(m.Parameters().All(p => p.Device.IsCpu && !p.IsDisposed), Is.True, "a failed move leaves the module usable on the CPU");
    }

    [Test]
    public void CpuOnlyUseNeverProbesCuda()
    {
        // A fresh copy of Cochlea.Engine in its own load context has its own statics: run CPU work
        // there (tensors, ops, autograd, a module, an optimizer step, To(cpu)) and check that
        // nothing asked for CUDA and no CUDA library was loaded.
        var path = typeof(Tensor).Assembly.Location;
        var alc = new AssemblyLoadContext("cpu-only", isCollectible: true);
        try
        {
            var asm = alc.LoadFromAssemblyPath(path);
            var tensor = asm.GetType("Cochlea.Tensor")!;
            var ops = asm.GetType("Cochlea.Ops")!;
            var device = asm.GetType("Cochlea.Device")!;
            dynamic cpu = device.GetField("Cpu")!.GetValue(null)!;
            static bool Fits(ParameterInfo p, object? a) => a is null ? !p.ParameterType.IsValueType : p.ParameterType.IsInstanceOfType(a);
            static object Static(Type t, string name, params object?[] args) =>
                t.GetMethods().Single(m => m.Name == name && m.GetParameters().Length == args.Length && m.GetParameters().Zip(args).All(z => Fits(z.First, z.Second))).Invoke(null, args)!;

            dynamic x = Static(tensor, "Randn", new Random(1), 1f, new[] { 4, 3 });
            x.RequiresGrad = true;
            dynamic w = Static(tensor, "Randn", new Random(2), 1f, new[] { 3, 5 });
            dynamic y = Static(ops, "Matmul", (object)x, (object)w);
            dynamic moved = y.To(cpu);
            dynamic t = moved.Transpose(0, 1).Contiguous();
            dynamic s = Static(ops, "Sum", (object)t, null, false);
            s.Backward();
            float[] g = x.Grad.ToArray();
            Assert.That(g, Has.Length.EqualTo(12));

            dynamic lin = Activator.CreateInstance(asm.GetType("Cochlea.Nn.Linear")!, 3, 2, true, new Random(3))!;
            lin.To(cpu);
            var adam = Activator.CreateInstance(asm.GetType("Cochlea.Optim.Adam")!, lin.Parameters(), 1e-3f, 0.9f, 0.999f, 1e-8f, 0f, false)!;
            dynamic z = Static(ops, "Sum", (object)lin.Forward(x), null, false);
            z.Backward();
            adam.GetType().GetMethod("Step")!.Invoke(adam, null);

            var backend = asm.GetType("Cochlea.Cuda.CudaBackend")!;
            var libs = asm.GetType("Cochlea.Cuda.CudaLibraries")!;
            Assert.That(backend.GetProperty("HasProbed")!.GetValue(null), Is.False, "CPU-only work probed CUDA");
            Assert.That((IReadOnlyList<string>)libs.GetProperty("Attempted")!.GetValue(null)!, Is.Empty, "CPU-only work loaded a CUDA library");
        }
        finally { alc.Unload(); }
    }
}
