// Placeholder entry point; the compare mode and BenchmarkDotNet suites replace it.
Console.WriteLine("usage: dotnet run -c Release --project bench -- compare <what> [--json]");
