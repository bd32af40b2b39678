// `cochlea listen --model M [--input FILE|-] [--stride-ms 100] [--average-ms 500] [--threshold 0.7]
// [--suppression-ms 1500] [--minimum-count 3] [--threads 1]`: streaming keyword spotting with the frozen
// runtime. A model file from `cochlea export` slides its 1 s window over a long recording (any WAV/FLAC,
// downmixed and resampled to 16 kHz) or over raw 16-bit little-endian mono PCM at 16 kHz on stdin ("-"),
// every stride, and prints one line per detection ("12.30 s  yes  0.93") after TF's RecognizeCommands
// smoothing and suppression; last a summary line.
using System.Buffers.Binary;
using System.Globalization;
using Cochlea.Models.Audio;
using Cochlea.Runtime;

namespace Cochlea.Cli;

static class ListenCommand
{
    public static int Run(string[] args, CliConsole ui) => Run(args, ui, null);

    /// <summary>As the command; <paramref name="stdin"/> replaces the process's standard input (tests).</summary>
    public static int Run(string[] args, CliConsole ui, Stream? stdin)
    {
        var o = CliArgs.Parse(args, new()
        {
            ["model"] = "", ["input"] = "-", ["stride-ms"] = "100", ["average-ms"] = "500", ["threshold"] = "0.7",
            ["suppression-ms"] = "1500", ["minimum-count"] = "3", ["threads"] = "1",
        });
        string model = o.OptionalExistingFile("model") ?? throw new UsageException("--model is required (a file written by `cochlea export`).");
        string input = o.Str("input");
        if (input != "-" && !File.Exists(input)) throw new UsageException($"--input: no such file '{input}'.");
        using var m = FrozenModel.Load(model, o.Int("threads"));
        var rc = new RecognizeCommands(m.Labels, o.NonNegativeInt("average-ms"), o.Float("threshold"), o.NonNegativeInt("suppression-ms"), o.Int("minimum-count"));
        var stream = new KeywordStream(m, rc, o.Int("stride-ms"));
        int detections = 0;
        void Report(Detection d)
        {
            detections++;
            ui.Line(string.Create(CultureInfo.InvariantCulture, $"{d.TimeMs / 1000.0,8:F2} s  {d.Label,-10} {d.Score:F2}"));
        }
        if (input == "-")
        {
            var src = stdin ?? Console.OpenStandardInput();
            var bytes = new byte[2 * stream.StrideSamples];
            var samples = new float[stream.StrideSamples];
            int filled = 0, read;
            while ((read = src.Read(bytes, filled, bytes.Length - filled)) > 0)
            {
                filled += read;
                int n = filled / 2;
                for (int i = 0; i < n; i++) samples[i] = BinaryPrimitives.ReadInt16LittleEndian(bytes.AsSpan(2 * i)) / 32768f;
                stream.Push(samples.AsSpan(0, n), Report);
                int rest = filled - 2 * n;
                if (rest > 0) bytes[0] = bytes[2 * n];
                filled = rest;
            }
        }
        else
        {
            var clip = AudioFile.Read(input, new AudioReadOptions { Mono = true, SampleRate = stream.SampleRate });
            stream.Push(clip.Samples, Report);
        }
        ui.Line(string.Create(CultureInfo.InvariantCulture,
            $"listen: {detections} detections in {stream.Samples / (double)stream.SampleRate:F1} s of audio ({stream.Runs} windows, stride {stream.StrideSamples * 1000 / stream.SampleRate} ms)"));
        return 0;
    }
}
