using NUnit.Framework;

namespace Cochlea.Tests.Engine;

public class GradientTests
{
    static IEnumerable<string> Ops() => GradCases.ByOp.Keys.Order();

    [TestCaseSource(nameof(Ops))]
    public void BackwardMatchesCentralDifferences(string op) => GradCases.ByOp[op]();
}

public class OpRegistryTests
{
    [Test]
    public void EveryRegisteredOpHasAGradientCase()
    {
        var missing = OpRegistry.All.Where(o => o.Differentiable && !GradCases.ByOp.ContainsKey(o.Name)).Select(o => o.Name).ToList();
        Assert.That(missing, Is.Empty, "ops without a gradient check");
    }

    [Test]
    public void EveryGradientCaseIsARegisteredOp()
    {
        var unknown = GradCases.ByOp.Keys.Where(k => OpRegistry.Find(k) is null).ToList();
        Assert.That(unknown, Is.Empty, "cases for ops missing from OpRegistry");
    }

    [Test]
    public void EveryOpDeclaresItsCudaStatus()
    {
        // Until the CUDA backend lands every op must say NotSupported explicitly, never be silently absent.
        Assert.That(OpRegistry.All.Select(o => o.Cuda), Is.All.EqualTo(CudaSupport.NotSupported).Or.EqualTo(CudaSupport.Supported));
        Assert.That(OpRegistry.All.Select(o => o.Name), Is.Unique);
    }
}
