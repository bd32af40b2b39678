// `compare <what> [--json]`: looks the suite up in the registry and prints its results, either one
// JSON object per line (DESIGN.md's shape, for tools and the reviewer) or a readable table.
using System.Globalization;
using System.Text;

namespace Cochlea.Bench.Compare;

public static class CompareRunner
{
    public static int Run(string[] args)
    {
        bool json = args.Contains("--json");
        var names = args.Where(a => !a.StartsWith("--", StringComparison.Ordinal)).ToArray();
        if (names.Length == 0) return Usage("missing <what>");
        var suites = new List<ICompareSuite>();
        foreach (var name in names)
        {
            var s = name == "all" ? null : CompareRegistry.All.FirstOrDefault(x => x.Name == name);
            if (name == "all") suites.AddRange(CompareRegistry.All);
            else if (s is null) return Usage($"unknown comparison '{name}'");
            else suites.Add(s);
        }
        if (!json) Console.WriteLine($"{"case",-40} {"thr",3} {"ours",10} {"anchor",10} {"unit",-8} {"speedup",8}  anchor");
        // A GPU suite without a GPU says so and the others still run; the exit code is 3 only when one was skipped.
        int rc = 0;
        foreach (var suite in suites)
        {
            try
            {
                foreach (var r in suite.Run())
                    Console.WriteLine(json ? ToJson(r) : ToRow(r));
            }
            catch (NoGpuException e)
            {
                Console.WriteLine($"no GPU: {e.Message}");
                rc = 3;
            }
        }
        return rc;
    }

    static int Usage(string why)
    {
        Console.Error.WriteLine($"compare: {why}. Usage: compare <what>... [--json]; <what> is one of: all, "
            + string.Join(", ", CompareRegistry.All.Select(s => $"{s.Name} ({s.Description})")));
        return 2;
    }

    static string Num(double v) => Math.Round(v, 3).ToString("0.###", CultureInfo.InvariantCulture);

    /// <summary>{"case": ..., "threads": N, "ours": x, "anchor": y, "unit": ..., "anchor_name": ..., "speedup": s}</summary>
    public static string ToJson(CompareResult r)
    {
        var sb = new StringBuilder();
        sb.Append("{\"case\": ").Append(Quote(r.Case))
          .Append(", \"threads\": ").Append(r.Threads.ToString(CultureInfo.InvariantCulture))
          .Append(", \"ours\": ").Append(Num(r.Ours))
          .Append(", \"anchor\": ").Append(r.Anchor is double a ? Num(a) : "null")
          .Append(", \"unit\": ").Append(Quote(r.Unit))
          .Append(", \"anchor_name\": ").Append(Quote(r.AnchorName))
          .Append(", \"speedup\": ").Append(r.Speedup is double s ? Num(s) : "null")
          .Append('}');
        return sb.ToString();
    }

    static string ToRow(CompareResult r) =>
        $"{r.Case,-40} {r.Threads,3} {Num(r.Ours),10} {(r.Anchor is double a ? Num(a) : "-"),10} {r.Unit,-8} "
        + $"{(r.Speedup is double s ? Num(s) : "-"),8}  {r.AnchorName}";

    static string Quote(string s)
    {
        var sb = new StringBuilder("\"");
        foreach (char ch in s)
        {
            if (ch == '"' || ch == '\\') sb.Append('\\').Append(ch);
            else if (ch < ' ') sb.Append("\\u").Append(((int)ch).ToString("x4", CultureInfo.InvariantCulture));
            else sb.Append(ch);
        }
        return sb.Append('"').ToString();
    }
}
