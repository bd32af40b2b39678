// Analysis windows for the STFT front end: rectangular, Hann and Hamming, periodic (the DFT-even form
// torch.hann_window/scipy.signal.get_window/tf.signal.hann_window use for spectra) or symmetric
// (numpy.hanning/np.hamming). Computed in double, stored as float.
namespace Cochlea.Kernels.Audio;

/// <summary>Window shapes.</summary>
public enum WindowKind
{
    /// <summary>w[t] = 1.</summary>
    Rectangular,
    /// <summary>w[t] = 0.5 - 0.5 cos(2 pi t / D).</summary>
    Hann,
    /// <summary>w[t] = 0.54 - 0.46 cos(2 pi t / D) (torch.hamming_window's and scipy's coefficients).</summary>
    Hamming,
}

/// <summary>Window functions.</summary>
public static class Windows
{
    /// <summary>
    /// A window of <paramref name="length"/> samples. D = length when <paramref name="periodic"/> (torch.hann_window
    /// default, scipy get_window fftbins=True, tf.signal.hann_window default), D = length - 1 when symmetric
    /// (numpy.hanning, periodic=False). Length 1 gives [1] for every kind, as torch does; length 0 gives [].
    /// </summary>
    public static float[] Create(WindowKind kind, int length, bool periodic = true)
    {
        if (length < 0) throw new ArgumentOutOfRangeException(nameof(length), length, "Window length must be >= 0.");
        var w = new float[length];
        Fill(kind, w, periodic);
        return w;
    }

    /// <summary>Fills <paramref name="window"/> with the window of its length (see <see cref="Create"/>).</summary>
    public static void Fill(WindowKind kind, Span<float> window, bool periodic = true)
    {
        int n = window.Length;
        if (n == 0) return;
        if (n == 1 || kind == WindowKind.Rectangular) { window.Fill(1f); return; }
        (double a, double b) = kind switch
        {
            WindowKind.Hann => (0.5, 0.5),
            WindowKind.Hamming => (0.54, 0.46),
            _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown window kind."),
        };
        double d = periodic ? n : n - 1;
        for (int t = 0; t < n; t++) window[t] = (float)(a - b * Math.Cos(2 * Math.PI * t / d));
    }
}
