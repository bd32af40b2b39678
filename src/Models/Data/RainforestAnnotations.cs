// Time-frequency box annotations of the Rainforest species-detection data (train_tp.csv /
// train_fp.csv: recording_id,species_id,songtype_id,t_min,f_min,t_max,f_max; seconds and Hz),
// validated row by row and grouped per recording, whose audio is <folder>/<recording_id>.flac.
namespace Cochlea.Models.Data;

/// <summary>One annotated call: a species inside a time-frequency box of a recording.</summary>
/// <param name="RecordingId">Recording the box belongs to.</param>
/// <param name="SpeciesId">Species class (0..23 in the competition).</param>
/// <param name="SongtypeId">Song type of the species.</param>
/// <param name="TMin">Start, seconds.</param>
/// <param name="FMin">Lowest frequency, Hz.</param>
/// <param name="TMax">End, seconds.</param>
/// <param name="FMax">Highest frequency, Hz.</param>
public sealed record SpeciesBox(string RecordingId, int SpeciesId, int SongtypeId, double TMin, double FMin, double TMax, double FMax);

/// <summary>A recording and all its boxes.</summary>
/// <param name="RecordingId">Recording id.</param>
/// <param name="Path">Full path of the audio file.</param>
/// <param name="Boxes">Boxes in file order.</param>
public sealed record AnnotatedRecording(string RecordingId, string Path, IReadOnlyList<SpeciesBox> Boxes);

/// <summary>Reads Rainforest box CSVs.</summary>
public static class RainforestAnnotations
{
    /// <summary>The boxes of <paramref name="csvPath"/>, in file order. Rejects negative times, ids or frequencies and inverted boxes.</summary>
    public static IReadOnlyList<SpeciesBox> LoadBoxes(string csvPath)
    {
        var t = CsvTable.Load(csvPath);
        int rec = t.Column("recording_id"), sp = t.Column("species_id"), st = t.Column("songtype_id");
        int t0 = t.Column("t_min"), f0 = t.Column("f_min"), t1 = t.Column("t_max"), f1 = t.Column("f_max");
        var boxes = new SpeciesBox[t.Rows.Count];
        for (int r = 0; r < boxes.Length; r++)
        {
            var box = new SpeciesBox(t.NonEmpty(r, rec), NonNegativeInt(t, r, sp), NonNegativeInt(t, r, st),
                NonNegative(t, r, t0), NonNegative(t, r, f0), NonNegative(t, r, t1), NonNegative(t, r, f1));
            if (box.TMax < box.TMin) throw t.Error(r, t1, $"t_max {box.TMax} is before t_min {box.TMin}");
            if (box.FMax < box.FMin) throw t.Error(r, f1, $"f_max {box.FMax} is below f_min {box.FMin}");
            boxes[r] = box;
        }
        return boxes;
    }

    /// <summary>Groups boxes by recording (in order of first appearance); audio paths are <paramref name="audioFolder"/>/id + <paramref name="extension"/>.</summary>
    public static IReadOnlyList<AnnotatedRecording> GroupByRecording(IReadOnlyList<SpeciesBox> boxes, string audioFolder, string extension = ".flac")
    {
        ArgumentNullException.ThrowIfNull(boxes);
        ArgumentException.ThrowIfNullOrEmpty(audioFolder);
        ArgumentNullException.ThrowIfNull(extension);
        string folder = Path.GetFullPath(audioFolder);
        return boxes.GroupBy(b => b.RecordingId, StringComparer.Ordinal)
            .Select(g => new AnnotatedRecording(g.Key, Path.Combine(folder, g.Key + extension), g.ToArray()))
            .ToArray();
    }

    static int NonNegativeInt(CsvTable t, int row, int col)
    {
        long v = t.Integer(row, col);
        if (v < 0 || v > int.MaxValue) throw t.Error(row, col, $"{v} is not a non-negative id");
        return (int)v;
    }

    static double NonNegative(CsvTable t, int row, int col)
    {
        double v = t.Double(row, col);
        if (v < 0) throw t.Error(row, col, $"{v} is negative");
        return v;
    }
}
