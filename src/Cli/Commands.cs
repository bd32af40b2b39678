// Command table of the `cochlea` CLI. Each command lives in its own file and takes the remaining
// arguments. Exit codes: 0 success; 2 the command line is wrong (unknown command or option, a
// missing or malformed value, a path that does not exist) - one line on stderr, plus the usage
// for an unknown command; 1 the command failed while running (a malformed file, a diverged
// run, an I/O error) - one line on stderr. Unexpected exceptions (bugs) keep their stack trace.
using Cochlea.Models.Data;
using Cochlea.Nn;

namespace Cochlea.Cli;

static class Commands
{
    static readonly (string Name, string Args, string Help, Func<string[], CliConsole, int> Run)[] Table =
    [
        ("train", "kws|deepspeech|freesound|species [options]", "train a keyword spotter (kws --data DIR), DeepSpeech (deepspeech --train CSV --dev CSV), FreesoundCnn (freesound --data DIR) or the species tagger (species --data DIR --tp CSV)",
            (args, ui) => (args.Length > 0 ? args[0] : "") switch
            {
                "deepspeech" => TrainDeepSpeechCommand.Run(args[1..], ui),
                "freesound" => FreesoundCommands.Train(args[1..], ui),
                "species" => SpeciesCommands.Train(args[1..], ui),
                _ => TrainCommand.Run(args, ui),
            }),
        ("transcribe", "--model CKPT FILE.wav", "transcribe speech with a DeepSpeech checkpoint (greedy, or --beam/--lm)", TranscribeCommand.Run),
        ("eval", "--model CKPT --data DIR", "accuracy, per-class accuracy and confusion matrix of a checkpoint", EvalCommand.Run),
        ("predict", "[freesound|species] --model CKPT FILES|DIR", "classify audio files and write a Kaggle submission (fname,label; freesound: the top 3 labels; species: recording_id,s0..)",
            (args, ui) => (args.Length > 0 ? args[0] : "") switch
            {
                "freesound" => FreesoundCommands.Predict(args[1..], ui),
                "species" => SpeciesCommands.Predict(args[1..], ui),
                _ => PredictCommand.Run(args, ui),
            }),
        ("export", "--model CKPT --out FILE [--int8] [--raw]", "freeze a KWS checkpoint into the runtime format (BN folded; prints the test accuracy change)", ExportCommand.Run),
        ("listen", "--model M [--input FILE|-]", "streaming keyword spotting over a long recording or 16 kHz s16le PCM on stdin", ListenCommand.Run),
        ("demo", "", "train WaveKws on the shipped keyword data set and report its test accuracy", DemoCommand.Run),
        // The features command handles its own errors (one line, exit code 2) and writes to the process's console.
        ("features", "IN.wav --type T --out OUT.npy", "compute STFT / spectrogram / log-mel / MFCC / DeepSpeech MFCC of an audio file into a .npy", (args, _) => FeaturesCommand.Run(args)),
    ];

    /// <summary>Runs the command line <paramref name="args"/>; output to stdout/stderr, or to the given writers (then never live).</summary>
    public static int Run(string[] args, TextWriter? output = null, TextWriter? error = null)
    {
        var ui = CliConsole.Create(output, error);
        if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
        {
            Usage(args.Length == 0 ? ui.Error : output ?? Console.Out);
            return args.Length == 0 ? 2 : 0;
        }
        foreach (var c in Table)
            if (c.Name == args[0])
            {
                try { return c.Run(args[1..], ui); }
                catch (UsageException e)
                {
                    ui.Error.WriteLine($"cochlea {c.Name}: {e.Message}");
                    return 2;
                }
                catch (Exception e) when (IsFailure(e))
                {
                    ui.Error.WriteLine($"cochlea {c.Name}: {e.Message}");
                    return 1;
                }
            }
        ui.Error.WriteLine($"cochlea: unknown command '{args[0]}'.");
        Usage(ui.Error);
        return 2;
    }

    // Failures a user can act on (bad files, bad data, impossible settings); anything else is a bug and keeps its trace.
    static bool IsFailure(Exception e) => e is ArgumentException or IOException or InvalidOperationException or NotSupportedException
        or InvalidDataException or FormatException or UnauthorizedAccessException or DataLoaderException or StateDictMismatchException;

    static void Usage(TextWriter w)
    {
        w.WriteLine("usage: cochlea <command> [options]");
        foreach (var c in Table) w.WriteLine($"  {c.Name,-8} {c.Args,-26} {c.Help}");
    }
}
