// DeepSpeech's import CSV (wav_filename,wav_filesize,transcript): one utterance per row. Relative
// file names are resolved against the CSV's own folder, so a data set directory can be moved as a
// whole; absolute ones are kept. Transcripts are returned verbatim - the alphabet is the model's job.
namespace Cochlea.Models.Data;

/// <summary>One utterance of a DeepSpeech CSV.</summary>
/// <param name="Path">Full path of the WAV file.</param>
/// <param name="FileSize">wav_filesize in bytes, as written (DeepSpeech sorts by it to batch similar lengths).</param>
/// <param name="Transcript">The transcript text, verbatim.</param>
public sealed record TranscribedClip(string Path, long FileSize, string Transcript);

/// <summary>Reads DeepSpeech CSV files.</summary>
public static class DeepSpeechCsv
{
    /// <summary>The utterances of <paramref name="csvPath"/> in file order.</summary>
    public static IReadOnlyList<TranscribedClip> Load(string csvPath)
    {
        var t = CsvTable.Load(csvPath);
        string folder = Path.GetDirectoryName(Path.GetFullPath(csvPath))!;
        int fc = t.Column("wav_filename"), sc = t.Column("wav_filesize"), tc = t.Column("transcript");
        var clips = new TranscribedClip[t.Rows.Count];
        for (int r = 0; r < clips.Length; r++)
        {
            string file = t.NonEmpty(r, fc);
            long size = t.Integer(r, sc);
            if (size < 0) throw t.Error(r, sc, $"file size {size} is negative");
            string path = Path.IsPathRooted(file) ? file : Path.GetFullPath(Path.Combine(folder, file));
            clips[r] = new TranscribedClip(path, size, t.Text(r, tc));
        }
        return clips;
    }
}
