// How a failed device-side check's slot reads back (CudaDevice.Checks.cs): the position and the value's 32 bits,
// with saturated positions and clamped integers said so in the message. No GPU needed.
using Cochlea.Cuda;
using NUnit.Framework;

namespace Cochlea.Tests.Cuda;

public class DeviceCheckLogicTests
{
    [Test]
    public void PositionsAndValuesReadBackAsTheKernelStoredThem()
    {
        var f = new DeviceCheckFailure(3, unchecked((uint)-100));
        Assert.That(f.PositionText, Is.EqualTo("position 3"));
        Assert.That(f.Int, Is.EqualTo(-100));
        Assert.That(f.IntText, Is.EqualTo("-100"));
        Assert.That(new DeviceCheckFailure(0, BitConverter.SingleToUInt32Bits(2.5f)).Float, Is.EqualTo(2.5f));
    }

    [Test]
    public void SaturatedPositionsAndClampedLabelsSaySo()
    {
        Assert.That(new DeviceCheckFailure(DeviceCheckFailure.SaturatedPosition, 0).PositionText, Is.EqualTo("position >= 4294967294"));
        Assert.That(new DeviceCheckFailure(DeviceCheckFailure.SaturatedPosition - 1, 0).PositionText, Is.EqualTo("position 4294967293"));
        Assert.That(new DeviceCheckFailure(0, int.MaxValue).IntText, Is.EqualTo(">= 2147483647"));
        Assert.That(new DeviceCheckFailure(0, unchecked((uint)int.MinValue)).IntText, Is.EqualTo("<= -2147483648"));
    }
}
