// Cochlea build script (Cake 7, a local dotnet tool):  dotnet tool restore && dotnet cake --target=Test
// Tasks: Build, Test, TestVectorPaths (kernel tests on the 256- and 128-bit paths), Bench, Demo.
var target = Argument("target", "Test");
var configuration = Argument("configuration", "Release");
var solution = "./Cochlea.sln";

void Dotnet(string args, IDictionary<string, string> env = null)
{
    var settings = new ProcessSettings { Arguments = args, EnvironmentVariables = env };
    var code = StartProcess("dotnet", settings);
    if (code != 0) throw new Exception($"dotnet {args} exited with {code}");
}

Task("Build")
    .Does(() => Dotnet($"build {solution} -c {configuration}"));

Task("Test")
    .IsDependentOn("Build")
    .Does(() => Dotnet($"test -c {configuration} --no-build"));

// The JIT switches that narrow Vector512/Vector256 paths: the same binaries then run the
// AVX2 (256-bit) and the portable 128-bit kernels, the latter being the path ARM64 runs.
Task("TestVectorPaths")
    .IsDependentOn("Build")
    .Does(() =>
    {
        Dotnet($"test -c {configuration} --no-build --filter TestCategory=Kernels",
            new Dictionary<string, string> { ["DOTNET_EnableAVX512"] = "0" });
        Dotnet($"test -c {configuration} --no-build --filter TestCategory=Kernels",
            new Dictionary<string, string> { ["DOTNET_EnableAVX"] = "0" });
    });

Task("Bench")
    .Does(() => Dotnet($"run -c {configuration} --project bench -- compare gemm"));

Task("Demo")
    .Does(() => Dotnet($"run -c {configuration} --project src/Cli -- demo"));

Task("Default").IsDependentOn("Test");

RunTarget(target);
