// Command table of the `cochlea` CLI. Each command lives in its own file and takes the
// remaining arguments; unknown commands print the usage and exit 2.
namespace Cochlea.Cli;

static class Commands
{
    static readonly (string Name, string Help, Func<string[], int> Run)[] Table =
    [
        ("demo", "train a small keyword-style model on generated audio and report its accuracy", DemoCommand.Run),
        ("features", "compute STFT / spectrogram / log-mel / MFCC / DeepSpeech MFCC of an audio file into a .npy", FeaturesCommand.Run),
    ];

    public static int Run(string[] args)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
        {
            Usage(Console.Out);
            return args.Length == 0 ? 2 : 0;
        }
        foreach (var c in Table)
            if (c.Name == args[0])
            {
                try { return c.Run(args[1..]); }
                catch (Exception e) when (e is ArgumentException or IOException or InvalidOperationException or NotSupportedException)
                {
                    Console.Error.WriteLine($"cochlea {c.Name}: {e.Message}");
                    return 1;
                }
            }
        Console.Error.WriteLine($"cochlea: unknown command '{args[0]}'.");
        Usage(Console.Error);
        return 2;
    }

    static void Usage(TextWriter w)
    {
        w.WriteLine("usage: cochlea <command> [options]");
        foreach (var c in Table) w.WriteLine($"  {c.Name,-10} {c.Help}");
    }
}
