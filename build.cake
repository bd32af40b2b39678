// Cochlea build script (Cake 7, a local dotnet tool):  dotnet tool restore && dotnet cake --target=Test
// Tasks: Build, Test, TestVectorPaths (kernel tests on the 256- and 128-bit paths), Bench, Demo, Publish.
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

// The `cochlea` command for a Pi and for x64 boxes without .NET: linux-x64 self-contained and trimmed
// (26 MB; the runtime, src/Runtime.Arm, is trimming- and AOT-clean, and the CLI's metadata JSON is
// source-generated), and for linux-arm64 framework-dependent portable IL (2.4 MB; an -r linux-arm64
// publish needs the arm64 runtime pack, which is not in reach here; the kernels pick AdvSimd/Vector128 at
// JIT time, so the same dlls run on the Pi with `dotnet cochlea.dll` and the .NET 10 runtime installed).
// Output: artifacts/publish/<rid>/.
Task("Publish")
    .Does(() =>
    {
        Dotnet($"publish src/Cli -c {configuration} -r linux-x64 --self-contained true -p:PublishTrimmed=true -o artifacts/publish/linux-x64");
        Dotnet($"publish src/Cli -c {configuration} --self-contained false -p:UseAppHost=false -o artifacts/publish/linux-arm64");
    });

Task("Default").IsDependentOn("Test");

RunTarget(target);
