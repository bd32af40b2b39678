// Gradient-check cases of the spectral ops (src/Engine/Ops/Spectral.cs): the STFT in the three non-centred framings
// (tf.signal.stft with zero-padding to the FFT size, torch.stft center=False with the window centred in n_fft, and
// python_speech_features with a padded last frame), and |z| and angle(z) on values away from 0 and from the branch cut.
using Cochlea.Kernels.Audio;
using static Cochlea.Tests.Engine.GradCheck;

namespace Cochlea.Tests.Engine;

public static partial class GradCases
{
    static void StftCases()
    {
        Check(t => Ops.Stft(t[0], new StftKernel(StftSpec.TensorFlow(12, 5, 16))), [Normal(Rng, 2, 37)]);
        Check(t => Ops.Stft(t[0], new StftKernel(StftSpec.Torch(16, 5, winLength: 10, center: false))), [Normal(Rng, 1, 40)]);
        Check(t => Ops.Stft(t[0], new StftKernel(StftSpec.SpeechFeatures(10, 4, 16, WindowKind.Hamming))), [Normal(Rng, 2, 23)]);
        // A non-contiguous input: the gradient goes back through the transpose.
        Check(t => Ops.Stft(t[0].Transpose(0, 1), new StftKernel(StftSpec.TensorFlow(8, 3, 8))), [Normal(Rng, 20, 2)]);
    }

    // (re, im) pairs with |im| >= 0.3: away from z = 0 and from the cut of angle() on the negative real axis.
    static Tensor ComplexLeaf(params int[] shape)
    {
        int n = shape.Aggregate(1, (a, b) => a * b);
        var v = new float[n];
        for (int i = 0; i < n; i += 2)
        {
            v[i] = (float)(Rng.NextDouble() * 4 - 2);
            v[i + 1] = (float)((0.3 + Rng.NextDouble() * 1.7) * (Rng.Next(2) == 0 ? -1 : 1));
        }
        var t = Tensor.FromArray(v, shape);
        t.RequiresGrad = true;
        return t;
    }

    static void ComplexAbsCases()
    {
        Check(t => Ops.ComplexAbs(t[0]), [ComplexLeaf(3, 5, 2)]);
        Check(t => Ops.ComplexAbs(t[0].Transpose(0, 1)), [ComplexLeaf(4, 3, 2)]);
    }

    static void AngleCases()
    {
        Check(t => Ops.Angle(t[0]), [ComplexLeaf(3, 5, 2)]);
        Check(t => Ops.Angle(t[0].Transpose(0, 1)), [ComplexLeaf(4, 3, 2)]);
    }
}
