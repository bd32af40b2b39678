// `cochlea features IN.wav --type ... --out OUT.npy`: decodes an audio file (WAV/FLAC, downmixed to mono,
// optionally resampled), computes one feature type with the Models.Audio front end and writes a float32,
// time-major NumPy .npy file, so results can be compared with librosa / torchaudio / python_speech_features.
// Defaults follow torchaudio (Spectrogram / MelSpectrogram / MFCC) and, for deepspeech-mfcc, DeepSpeech 2017's
// python_speech_features call. Bad input: one line on stderr and exit code 2.
using Cochlea.Kernels.Audio;
using Cochlea.Models.Audio;

namespace Cochlea.Cli;

static class FeaturesCommand
{
    const string Types = "stft|spectrogram|logmel|mfcc|deepspeech-mfcc";

    static readonly string Help = $"""
        usage: cochlea features IN.wav --type {Types} --out OUT.npy [options]
          Writes float32, time-major: stft (frames, bins, 2) [re, im]; spectrogram (frames, bins);
          logmel (frames, n_mels); mfcc (frames, n_mfcc); deepspeech-mfcc (frames, numcep * (2*context+1)).
          The file is decoded to mono; --sample-rate resamples it first (default: the file's rate).
        options (defaults as torchaudio's transforms unless noted):
          --n-fft 400          FFT size (deepspeech-mfcc: 512)
          --win auto           window length in samples (auto: n_fft; deepspeech-mfcc: 25 ms)
          --hop auto           hop in samples (auto: win/2; deepspeech-mfcc: 10 ms)
          --window hann        hann|hamming|rect (periodic; deepspeech-mfcc: rect)
          --center true        pad n_fft/2 on both sides (torch.stft center)
          --pad-mode reflect   reflect|constant|replicate|circular
          --power 2            spectrogram: 2 power, 1 magnitude
          --n-mels 128         mel bands (deepspeech-mfcc: 26 filters)
          --fmin 0 --fmax auto mel range in Hz (auto: sample_rate/2)
          --mel-scale htk      htk|slaney     --mel-norm none   none|slaney
          --top-db 80          logmel/mfcc decibel floor below the clip maximum (none: no floor)
          --n-mfcc 40          mfcc coefficients    --log-mels false   mfcc: ln(mel + 1e-6) instead of dB
          --numcep 26 --context 9 --preemph 0.97 --lifter 22   deepspeech-mfcc (python_speech_features)
          --input-scale 32768  deepspeech-mfcc: sample scale (DeepSpeech read 16-bit WAVs as integers)
        """;

    public static int Run(string[] args)
    {
        if (args.Length == 0 || args.Contains("--help") || args.Contains("-h"))
        {
            Console.Out.Write(Help);
            return args.Length == 0 ? 2 : 0;
        }
        try
        {
            var o = CliArgs.Parse(args, new()
            {
                ["type"] = "", ["out"] = "", ["sample-rate"] = "", ["n-fft"] = "", ["win"] = "auto", ["hop"] = "auto",
                ["window"] = "", ["center"] = "true", ["pad-mode"] = "reflect", ["power"] = "2", ["n-mels"] = "",
                ["fmin"] = "0", ["fmax"] = "auto", ["mel-scale"] = "htk", ["mel-norm"] = "none", ["top-db"] = "80",
                ["n-mfcc"] = "40", ["log-mels"] = "false", ["numcep"] = "26", ["context"] = "9", ["preemph"] = "0.97",
                ["lifter"] = "22", ["input-scale"] = "32768",
            }, out var positional);
            if (positional.Count != 1) throw new ArgumentException($"expected one input file, got {positional.Count}: {string.Join(" ", positional)}.");
            string type = o.OneOf("type", Types.Split('|'));
            string output = o.Str("out");
            if (output.Length == 0) throw new ArgumentException("--out OUT.npy is required.");

            var clip = ReadAudio(positional[0], o.OptInt("sample-rate"));
            var (data, shape) = Compute(type, clip.Samples, clip.SampleRate, o);
            FeatureNpy.Write(output, data, shape);
            Console.WriteLine($"{positional[0]}: {clip.Frames} samples at {clip.SampleRate} Hz -> {type} ({string.Join(", ", shape)}) -> {output}");
            return 0;
        }
        catch (Exception e) when (e is ArgumentException or IOException or InvalidDataException or NotSupportedException
            or UnauthorizedAccessException or FormatException or OverflowException)
        {
            Console.Error.WriteLine($"cochlea features: {OneLine(e.Message)}");
            return 2;
        }
    }

    /// <summary>The first line of a message, without .NET's " (Parameter 'x')" suffix.</summary>
    static string OneLine(string message)
    {
        var line = message.Split('\n')[0].TrimEnd();
        int p = line.LastIndexOf(" (Parameter '", StringComparison.Ordinal);
        return p > 0 ? line[..p] : line;
    }

    /// <summary>The one decode call: mono, resampled to <paramref name="sampleRate"/> when given.</summary>
    static AudioClip ReadAudio(string path, int? sampleRate) => AudioFile.Read(path, new AudioReadOptions { Mono = true, SampleRate = sampleRate });

    static (float[] Data, int[] Shape) Compute(string type, float[] x, int sr, CliArgs o)
    {
        using var scope = Tensor.Scope();
        var input = Tensor.FromArray(x, x.Length);
        if (type == "deepspeech-mfcc") return DeepSpeech(input, sr, o);

        int nFft = o.OptInt("n-fft") ?? 400, win = o.OptInt("win") ?? nFft, hop = o.OptInt("hop") ?? Math.Max(1, win / 2);
        if (win > nFft) throw new ArgumentException($"--win {win} is longer than --n-fft {nFft}.");
        var window = Window(o.Str("window") is "" ? "hann" : o.Str("window"));
        bool center = o.Bool("center");
        var padMode = o.OneOf("pad-mode", "reflect", "constant", "replicate", "circular") switch
        {
            "constant" => PadMode.Constant, "replicate" => PadMode.Replicate, "circular" => PadMode.Circular, _ => PadMode.Reflect,
        };
        var mel = new MelOptions(sr, nFft, win, hop, o.NonNegative("fmin"), o.OptNonNegative("fmax"), o.OptInt("n-mels") ?? 128, window, center, padMode,
            2f, o.OneOf("mel-norm", "none", "slaney") == "slaney" ? MelNorm.Slaney : MelNorm.None,
            o.OneOf("mel-scale", "htk", "slaney") == "slaney" ? MelScale.Slaney : MelScale.Htk);
        float? topDb = o.OptNonNegative("top-db") is double t ? (float)t : null;
        Tensor y = type switch
        {
            "stft" => new Stft(mel.ToSpec()).Complex(input),
            "spectrogram" => o.OneOf("power", "1", "2") == "1" ? new Stft(mel.ToSpec()).Magnitude(input) : new Stft(mel.ToSpec()).Power(input),
            "logmel" => MelSpectrogram.LogMel(mel, topDb).Forward(input),
            _ => new Mfcc(new MfccOptions(o.Int("n-mfcc"), o.Bool("log-mels"), topDb, Mel: mel)).Forward(input),
        };
        return (y.ToArray(), y.Shape.ToArray());
    }

    static (float[] Data, int[] Shape) DeepSpeech(Tensor input, int sr, CliArgs o)
    {
        var win = o.OptInt("win");
        var hop = o.OptInt("hop");
        var ps = new SpeechFeaturesOptions(
            SampleRate: sr,
            WinLen: win is int w ? (double)w / sr : 0.025,
            WinStep: hop is int h ? (double)h / sr : 0.01,
            NFilt: o.OptInt("n-mels") ?? 26,
            NFft: o.OptInt("n-fft") ?? 512,
            LowFreq: o.NonNegative("fmin"),
            HighFreq: o.OptNonNegative("fmax"),
            PreEmphasis: (float)o.NonNegative("preemph"),
            CepLifter: (int)o.NonNegative("lifter"),
            Window: Window(o.Str("window") is "" ? "rect" : o.Str("window")));
        int context = (int)o.NonNegative("context");
        var ds = new DeepSpeechFeatures(o.Int("numcep"), context, ps, o.Float("input-scale"));
        var y = ds.Forward(input);
        return (y.ToArray(), y.Shape.ToArray());
    }

    static WindowKind Window(string name) => name switch
    {
        "hann" => WindowKind.Hann,
        "hamming" => WindowKind.Hamming,
        "rect" or "rectangular" or "ones" => WindowKind.Rectangular,
        _ => throw new ArgumentException($"--window must be hann, hamming or rect; got '{name}'."),
    };
}
