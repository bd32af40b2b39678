// Console output of the CLI commands: one Spectre console bound to the current Console.Out (so
// tests can capture it), a live progress bar on a terminal and plain lines when stdout is
// redirected (logs, CI, pipes), and the tables every KWS command prints (per-class accuracy,
// confusion matrix). Rendering only: the numbers come from Cochlea.Models.Kws.
using System.Globalization;
using Cochlea.Models.Kws;
using Spectre.Console;

namespace Cochlea.Cli;

sealed class CliConsole
{
    CliConsole(IAnsiConsole console, bool live, TextWriter error) { Console = console; Live = live; Error = error; }

    /// <summary>The Spectre console writing to Console.Out.</summary>
    public IAnsiConsole Console { get; }

    /// <summary>True on an interactive terminal: progress is drawn live; false: plain lines.</summary>
    public bool Live { get; }

    /// <summary>
    /// A console on stdout (live when it is a terminal), or on <paramref name="output"/> (always plain: tests and embedding hosts
    /// capture the text). <paramref name="error"/> (default stderr) receives error lines.
    /// </summary>
    public static CliConsole Create(TextWriter? output = null, TextWriter? error = null)
    {
        bool terminal = output is null && !System.Console.IsOutputRedirected;
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(output ?? System.Console.Out),
            Ansi = terminal ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = terminal ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
            Interactive = terminal ? InteractionSupport.Detect : InteractionSupport.No,
        });
        // Redirected output has no width; wide enough that a 12-class confusion matrix stays on one line per row.
        if (!terminal) console.Profile.Width = 200;
        return new CliConsole(console, terminal && console.Profile.Capabilities.Ansi, error ?? System.Console.Error);
    }

    /// <summary>Where error lines go.</summary>
    public TextWriter Error { get; }

    /// <summary>A plain line (no markup interpretation).</summary>
    public void Line(string text = "") => Console.WriteLine(text);

    /// <summary>A line with Spectre markup.</summary>
    public void Markup(string markup) => Console.MarkupLine(markup);

    /// <summary>
    /// Runs <paramref name="body"/> with a progress reporter: a live bar (description, bar, percentage, time left) on a terminal;
    /// on redirected output nothing is drawn and the body's own lines are the log.
    /// </summary>
    public T WithProgress<T>(Func<ProgressReporter, T> body)
    {
        if (!Live) return body(new ProgressReporter(null, this));
        return Console.Progress()
            .AutoClear(true)
            .HideCompleted(true)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
            .Start(ctx => body(new ProgressReporter(ctx, this)));
    }

    /// <summary>Per-class accuracy: class, clips, correct, accuracy.</summary>
    public void PerClassTable(ConfusionMatrix cm)
    {
        var t = new Table().Border(TableBorder.Rounded).Title("per-class accuracy")
            .AddColumn("class").AddColumn(new TableColumn("clips").RightAligned()).AddColumn(new TableColumn("correct").RightAligned())
            .AddColumn(new TableColumn("accuracy").RightAligned());
        for (int i = 0; i < cm.Labels.Count; i++)
        {
            long n = cm.RowTotal(i);
            t.AddRow(Spectre.Console.Markup.Escape(cm.Labels[i]), n.ToString(CultureInfo.InvariantCulture), cm[i, i].ToString(CultureInfo.InvariantCulture),
                n == 0 ? "-" : (cm.ClassAccuracy(i) * 100).ToString("F1", CultureInfo.InvariantCulture) + "%");
        }
        Console.Write(t);
    }

    /// <summary>The confusion matrix: rows are true classes, columns predicted classes; the diagonal in green, errors in red.</summary>
    public void ConfusionTable(ConfusionMatrix cm)
    {
        var t = new Table().Border(TableBorder.Rounded).Title("confusion matrix (rows: true class, columns: predicted)");
        t.AddColumn("true \\ predicted");
        foreach (var l in cm.Labels) t.AddColumn(new TableColumn(Spectre.Console.Markup.Escape(Short(l))).RightAligned());
        for (int i = 0; i < cm.Labels.Count; i++)
        {
            var cells = new List<string> { Spectre.Console.Markup.Escape(cm.Labels[i]) };
            for (int j = 0; j < cm.Labels.Count; j++)
            {
                long n = cm[i, j];
                string s = n.ToString(CultureInfo.InvariantCulture);
                cells.Add(n == 0 ? "[grey].[/]" : i == j ? $"[green]{s}[/]" : $"[red]{s}[/]");
            }
            t.AddRow(cells.ToArray());
        }
        Console.Write(t);
    }

    // Column headers: the class names without the underscores of _silence_ / _unknown_, at most 7 characters, so 12+ columns fit.
    static string Short(string label)
    {
        var s = label.Trim('_');
        return s.Length <= 7 ? s : s[..7];
    }
}

/// <summary>Progress of one long phase: a live task on a terminal, nothing otherwise.</summary>
sealed class ProgressReporter
{
    readonly ProgressContext? _ctx;
    ProgressTask? _task;

    internal ProgressReporter(ProgressContext? ctx, CliConsole console) { _ctx = ctx; Console = console; }

    /// <summary>The console (lines written during live progress appear above the bar).</summary>
    public CliConsole Console { get; }

    /// <summary>Starts a new task of <paramref name="total"/> units (the previous one is completed).</summary>
    public void Start(string description, double total)
    {
        if (_ctx is null) return;
        _task?.StopTask();
        _task = _ctx.AddTask(Spectre.Console.Markup.Escape(description), maxValue: Math.Max(total, 1));
    }

    /// <summary>Sets the current task's position and description.</summary>
    public void Update(double value, string? description = null)
    {
        if (_task is null) return;
        _task.Value = value;
        if (description is not null) _task.Description = Spectre.Console.Markup.Escape(description);
    }

    /// <summary>Completes the current task.</summary>
    public void Stop()
    {
        if (_task is null) return;
        _task.Value = _task.MaxValue;
        _task.StopTask();
        _task = null;
    }
}
