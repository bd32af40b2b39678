// `cochlea demo`: placeholder until the training pieces land.
namespace Cochlea.Cli;

static class DemoCommand
{
    public static int Run(string[] args)
    {
        Console.WriteLine("demo: not yet available");
        return 1;
    }
}
