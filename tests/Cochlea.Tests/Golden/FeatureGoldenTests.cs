// Golden tests of the audio feature front end: every fixture in tests/fixtures/features (made by
// make_feature_fixtures.py from torch.stft, torchaudio, scipy and a float64 re-implementation of
// python_speech_features) is recomputed through the public Models.Audio / Kernels.Audio API and compared
// by max |ours - reference| / (max - min of the reference) <= 1e-4, the acceptance metric;
// the measured value of each case is printed.
using System.Text.Json;
using Cochlea.IO;
using Cochlea.Kernels.Audio;
using Cochlea.Models.Audio;
using NUnit.Framework;

namespace Cochlea.Tests.Golden;

[Category("Golden")]
public class FeatureGoldenTests
{
    const double MaxRelativeError = 1e-4;

    static string Folder => Path.Combine(AppContext.BaseDirectory, "fixtures", "features");

    static IEnumerable<TestCaseData> Cases()
    {
        var files = Directory.Exists(Folder) ? Directory.GetFiles(Folder, "*.safetensors") : [];
        foreach (var f in files.OrderBy(f => f, StringComparer.Ordinal))
            yield return new TestCaseData(Path.GetFileNameWithoutExtension(f)).SetName($"Feature golden {Path.GetFileNameWithoutExtension(f)}");
    }

    [Test]
    public void FixturesArePresent() => Assert.That(Cases().Count(), Is.GreaterThanOrEqualTo(25), $"feature fixtures in {Folder}");

    sealed class Fixture(SafeTensorsFile file)
    {
        public readonly JsonElement Attrs = JsonDocument.Parse(file.Metadata["attrs"]).RootElement;
        public readonly string Kind = file.Metadata["kind"];

        public Tensor Get(string name)
        {
            var info = file.GetInfo(name);
            return Tensor.FromArray(file.ReadFloat32(name), info.ShapeInt32);
        }

        public int Int(string k) => Attrs.GetProperty(k).GetInt32();
        public double Double(string k) => Attrs.GetProperty(k).GetDouble();
        public double? OptDouble(string k) => Attrs.TryGetProperty(k, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : null;
        public string? Str(string k) => Attrs.TryGetProperty(k, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
        public bool Bool(string k) => Attrs.GetProperty(k).GetBoolean();
    }

    /// <summary>max |a - b| / (max b - min b); the shapes must agree.</summary>
    static double RelativeError(Tensor ours, Tensor reference, string what)
    {
        Assert.That(ours.Shape.ToArray(), Is.EqualTo(reference.Shape.ToArray()), what + ": shape");
        var a = ours.ToArray(); var b = reference.ToArray();
        if (b.Length == 0) return 0;
        double lo = b.Min(), hi = b.Max(), err = 0;
        for (int i = 0; i < a.Length; i++) err = Math.Max(err, Math.Abs((double)a[i] - b[i]));
        return err / Math.Max(hi - lo, 1e-30);
    }

    static void Expect(Tensor ours, Tensor reference, string what)
    {
        double rel = RelativeError(ours, reference, what);
        TestContext.Out.WriteLine($"{what}: max abs error / range = {rel:E2}");
        Assert.That(rel, Is.LessThanOrEqualTo(MaxRelativeError), what);
    }

    [TestCaseSource(nameof(Cases))]
    public void MatchesReference(string name)
    {
        using var file = SafeTensorsFile.Open(Path.Combine(Folder, name + ".safetensors"));
        var fx = new Fixture(file);
        using var scope = Tensor.Scope();
        var x = fx.Get("x");
        var y = fx.Get("y");
        switch (fx.Kind)
        {
            case "stft":
            {
                var window = fx.Str("window") switch { "hamming" => WindowKind.Hamming, "rect" => WindowKind.Rectangular, _ => WindowKind.Hann };
                var pad = fx.Str("pad_mode") switch { "constant" => PadMode.Constant, "replicate" => PadMode.Replicate, "circular" => PadMode.Circular, _ => PadMode.Reflect };
                var stft = Stft.Torch(fx.Int("n_fft"), fx.Int("hop"), fx.Int("win_length"), window, fx.Bool("center"), pad, fx.Bool("periodic"));
                Expect(stft.Complex(x), y, name);
                break;
            }
            case "power": Expect(Stft.Torch(fx.Int("n_fft"), fx.Int("hop")).Power(x), y, name); break;
            case "magnitude": Expect(Stft.Torch(fx.Int("n_fft"), fx.Int("hop")).Magnitude(x), y, name); break;
            case "phase":
            {
                var stft = Stft.Torch(fx.Int("n_fft"), fx.Int("hop"));
                ExpectPhase(stft.Phase(x), stft.Magnitude(x), y, name);
                break;
            }
            case "tf_stft":
            {
                var stft = Stft.TensorFlow(fx.Int("frame_length"), fx.Int("frame_step"), fx.Int("fft_length"));
                Expect(stft.Complex(x), y, name);
                // FreesoundCnn's channels: log1p|X| and angle(X)/pi.
                var mag = stft.Magnitude(x);
                var log1p = Tensor.FromArray(mag.ToArray().Select(v => MathF.Log(1 + v)).ToArray(), mag.Shape.ToArray());
                Expect(log1p, fx.Get("log1p_mag"), name + " log1p|X|");
                var phase = stft.Phase(x);
                var overPi = Tensor.FromArray(phase.ToArray().Select(v => v / MathF.PI).ToArray(), phase.Shape.ToArray());
                ExpectPhase(overPi, mag, fx.Get("phase_over_pi"), name + " angle/pi", period: 2);
                break;
            }
            case "scipy_logspec":
            {
                int nper = fx.Int("nperseg"), hop = nper - fx.Int("noverlap");
                var stft = new Stft(StftSpec.TensorFlow(nper, hop, nper));
                Expect(stft.LogDensity(x, fx.Double("sample_rate"), (float)fx.Double("eps")), y, name);
                break;
            }
            case "melscale_fbanks":
            {
                var bank = MelFilterbank.Create(fx.Int("n_freqs"), fx.Double("sample_rate"), fx.Int("n_mels"), fx.Double("f_min"), fx.OptDouble("f_max"),
                    fx.Str("mel_scale") == "slaney" ? MelScale.Slaney : MelScale.Htk, fx.Str("norm") == "slaney" ? MelNorm.Slaney : MelNorm.None);
                Expect(Tensor.FromArray(bank.ToDense(), bank.Mels, bank.Bins), y, name);
                break;
            }
            case "melspec":
            {
                var opt = new MelOptions(SampleRate: fx.Int("sample_rate"), NFft: fx.Int("n_fft"), Hop: fx.Int("hop"), NMels: fx.Int("n_mels"),
                    FMin: fx.Double("f_min"), FMax: fx.OptDouble("f_max"), Norm: fx.Str("norm") == "slaney" ? MelNorm.Slaney : MelNorm.None,
                    Scale: fx.Str("mel_scale") == "slaney" ? MelScale.Slaney : MelScale.Htk);
                var mel = fx.Str("db") switch
                {
                    "amplitude_to_db" => new MelSpectrogram(opt, LogCompression.AmplitudeToDb(power: true, topDb: 80f)),
                    "power_to_db" => MelSpectrogram.LogMel(opt),
                    "power_to_db_refmax" => MelSpectrogram.LogMel(opt, topDb: 80f, referenceIsMax: true),
                    _ => new MelSpectrogram(opt),
                };
                Expect(mel.Forward(x), y, name);
                break;
            }
            case "mfcc":
            {
                var mel = new MelOptions(SampleRate: fx.Int("sample_rate"), NFft: fx.Int("n_fft"), Hop: fx.Int("hop"), NMels: fx.Int("n_mels"));
                var mfcc = new Mfcc(new MfccOptions(fx.Int("n_mfcc"), fx.Bool("log_mels"), Mel: mel));
                Expect(mfcc.Forward(x), y, name);
                break;
            }
            case "psf_mfcc":
            {
                var window = fx.Str("window") == "hamming" ? WindowKind.Hamming : WindowKind.Rectangular;
                var o = new SpeechFeaturesOptions(SampleRate: fx.Int("sample_rate"), Window: window);
                if (fx.Attrs.TryGetProperty("nfilt", out var nf)) o = o with { NFilt = nf.GetInt32() };
                if (fx.Attrs.TryGetProperty("nfft", out var nff)) o = o with { NFft = nff.GetInt32() };
                if (fx.OptDouble("lowfreq") is double lf) o = o with { LowFreq = lf };
                if (fx.OptDouble("highfreq") is double hf) o = o with { HighFreq = hf };
                int context = fx.Attrs.GetProperty("context").ValueKind == JsonValueKind.Number ? fx.Int("context") : 0;
                var ds = new DeepSpeechFeatures(fx.Int("numcep"), context, o);
                Expect(ds.Mfcc(x), y, name);
                if (file.Contains("context")) Expect(ds.Forward(x), fx.Get("context"), name + " context windows");
                break;
            }
            default: Assert.Fail($"{name}: unknown fixture kind '{fx.Kind}'"); break;
        }
    }

    /// <summary>Phase compared modulo its period where the bin's magnitude is not negligible (phase of ~0 is noise).</summary>
    static void ExpectPhase(Tensor ours, Tensor magnitude, Tensor reference, string what, double period = 2 * Math.PI)
    {
        Assert.That(ours.Shape.ToArray(), Is.EqualTo(reference.Shape.ToArray()), what + ": shape");
        var a = ours.ToArray(); var b = reference.ToArray(); var m = magnitude.ToArray();
        if (b.Length == 0) return;
        double floor = 1e-4 * m.Max(), err = 0;
        for (int i = 0; i < a.Length; i++)
        {
            if (m[i] < floor) continue;
            double d = Math.Abs(a[i] - b[i]) % period;
            err = Math.Max(err, Math.Min(d, period - d));
        }
        double rel = err / period;
        TestContext.Out.WriteLine($"{what}: max wrapped phase error / period = {rel:E2}");
        Assert.That(rel, Is.LessThanOrEqualTo(MaxRelativeError), what);
    }
}
