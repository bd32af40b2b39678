// The status checks format their interpolated messages only for failures (Driver/CheckMessage.cs): on success the
// interpolation's expressions are not even evaluated; on failure the exception carries the whole message. No GPU needed.
using Cochlea.Cuda;
using Cochlea.Cuda.Cublas;
using Cochlea.Cuda.Cudnn;
using Cochlea.Cuda.Driver;
using NUnit.Framework;

namespace Cochlea.Tests.Cuda;

public class CheckMessageTests
{
    int _formatted;

    // Counts how often the message was built.
    int Traced(int v) { _formatted++; return v; }

    [Test]
    public void SuccessfulChecksDoNotFormatTheirMessages()
    {
        _formatted = 0;
        DriverCheck.Check(CuResult.Success, $"cuLaunchKernel(grid ({Traced(1)},{Traced(2)}))");
        Cudnn.Check(0, $"cudnnConvolutionForward({Traced(3)})");
        Cublas.Check(CublasStatus.Success, $"cublasSgemm_v2(m={Traced(4)})");
        Assert.That(_formatted, Is.Zero);
    }

    [Test]
    public void FailedChecksThrowTheFormattedMessage()
    {
        _formatted = 0;
        var d = Assert.Throws<CudaException>(() => DriverCheck.Check(CuResult.ErrorInvalidValue, $"cuLaunchKernel(grid ({Traced(7)},{Traced(8)}))"));
        Assert.That(d!.Message, Does.StartWith("cuLaunchKernel(grid (7,8)): "));
        var n = Assert.Throws<CudaException>(() => Cudnn.Check(3, $"cudnnConvolutionForward(algo {Traced(2)})"));
        Assert.That(n!.Message, Does.StartWith("cudnnConvolutionForward(algo 2) failed: cudnnStatus_t 3"));
        var b = Assert.Throws<CudaException>(() => Cublas.Check(CublasStatus.InvalidValue, $"cublasSgemm_v2(m={Traced(5)}, k={0.5:F2})"));
        Assert.That(b!.Message, Does.StartWith("cublasSgemm_v2(m=5, k=0.50) failed: InvalidValue (7)"));
        Assert.That(_formatted, Is.EqualTo(4));
    }
}
