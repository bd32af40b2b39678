// The one temporary-folder helper of the tests: a fresh private folder under the system temp path,
// deleted (with everything in it) on Dispose. Tests that write files use it instead of building
// their own Path.GetTempPath() names and try/finally clean-ups.
namespace Cochlea.Tests;

/// <summary>A temporary folder deleted on Dispose.</summary>
public sealed class TempDir : IDisposable
{
    /// <summary>Creates a fresh empty folder <c>cochlea-{what}-{guid}</c> under the system temp path.</summary>
    public TempDir(string what = "test") =>
        Path = Directory.CreateDirectory(System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"cochlea-{what}-" + Guid.NewGuid().ToString("N"))).FullName;

    /// <summary>Full path of the folder.</summary>
    public string Path { get; }

    /// <summary>Path of <paramref name="relative"/> inside the folder.</summary>
    public string this[string relative] => System.IO.Path.Combine(Path, relative);

    /// <summary>Writes a text file inside the folder (parents created) and returns its path.</summary>
    public string WriteText(string relative, string text)
    {
        string p = this[relative];
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(p)!);
        File.WriteAllText(p, text);
        return p;
    }

    /// <summary>Deletes the folder; a file still held open (a failing test's) must not turn into a second failure.</summary>
    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}
