// The CSV reader (quotes, line ends, BOM, errors with file/line/column) and the three annotation
// tables built on it: Freesound-style labelled clips, Rainforest boxes, DeepSpeech utterances.
using Cochlea.Models.Data;
using NUnit.Framework;

namespace Cochlea.Tests.Data;

[Category("Data")]
public class CsvTests
{
    [Test]
    public void ParsesQuotesLineEndsAndBom()
    {
        string text = "\uFEFFa,b , c\r\n1,\"x, y\",\"say \"\"hi\"\"\"\r\n\r\n2,\"two\nlines\",\n3,,\"\"\r4,5,6";
        var t = CsvTable.Parse(text, "t.csv");
        Assert.That(t.Header, Is.EqualTo(new[] { "a", "b", "c" }));
        Assert.That(t.Rows.Select(r => r.Fields), Is.EqualTo(new[]
        {
            new[] { "1", "x, y", "say \"hi\"" },
            new[] { "2", "two\nlines", "" },
            new[] { "3", "", "" },
            new[] { "4", "5", "6" },
        }));
        Assert.That(t.Rows.Select(r => r.Line), Is.EqualTo(new[] { 2, 4, 6, 7 }), "lines count blank lines and newlines inside quotes");
        Assert.That(t.Column("c"), Is.EqualTo(2));
        Assert.That(t.Integer(3, 1), Is.EqualTo(5));
        Assert.That(CsvTable.Parse("a\n", "x").Rows, Is.Empty);
        Assert.That(CsvTable.Parse("a,b\nx\"y,z\n", "x").Text(0, 0), Is.EqualTo("x\"y"), "a quote inside an unquoted field is literal");
    }

    [TestCase("a,b\n1,\"open\n2,3\n", 2, 2, "not closed")]
    [TestCase("a,b\n1,\"x\"y\n", 2, 2, "after a closing quote")]
    [TestCase("a,b\n1,2\n3\n", 3, 0, "1 fields, but the header has 2")]
    [TestCase("a,b\n1,2,3\n", 2, 0, "3 fields")]
    [TestCase("a,,b\n", 1, 2, "empty column name")]
    [TestCase("a,a\n", 1, 2, "appears twice")]
    [TestCase("", 1, 0, "empty")]
    public void MalformedFilesNameLineAndColumn(string text, int line, int column, string problem)
    {
        var e = Assert.Throws<CsvFormatException>(() => CsvTable.Parse(text, "bad.csv"))!;
        Assert.That(e.FileName, Is.EqualTo("bad.csv"));
        Assert.That(e.Line, Is.EqualTo(line));
        Assert.That(e.Column, Is.EqualTo(column));
        Assert.That(e.Message, Does.StartWith($"bad.csv, line {line}").And.Contain(problem));
    }

    [Test]
    public void ValueErrorsNameTheColumn()
    {
        var t = CsvTable.Parse("id,x,flag\n1,2.5,yes\n\n2,abc,maybe\n", "v.csv");
        Assert.That(t.Double(0, 1), Is.EqualTo(2.5));
        Assert.That(t.Boolean(0, 2), Is.True);
        var e = Assert.Throws<CsvFormatException>(() => t.Double(1, 1))!;
        Assert.That(e.Message, Is.EqualTo("v.csv, line 4, column 2: 'abc' is not a finite number in column 'x'."));
        Assert.That(Assert.Throws<CsvFormatException>(() => t.Boolean(1, 2))!.Column, Is.EqualTo(3));
        Assert.That(Assert.Throws<CsvFormatException>(() => t.Integer(0, 1))!.Message, Does.Contain("'2.5' is not an integer"));
        Assert.That(Assert.Throws<CsvFormatException>(() => t.Column("label"))!.Message, Does.Contain("missing column 'label' (header: id,x,flag)"));
    }

    [Test]
    public void FreesoundLabelsAreSortedOrFixed()
    {
        using var dir = new TempDir();
        string csv = dir.WriteText("train.csv", "fname,label,manually_verified\r\n00044347.wav,Hi-hat,0\r\n001ca53d.wav,Saxophone,1\r\n002d256b.wav,\"Trumpet\",0\r\n0033e230.wav,Hi-hat,1\r\n");
        var set = LabelledClipSet.Load(csv, dir["audio_train"]);
        Assert.That(set.Labels, Is.EqualTo(new[] { "Hi-hat", "Saxophone", "Trumpet" }));
        Assert.That(set.Clips.Select(c => c.Label), Is.EqualTo(new[] { 0, 1, 2, 0 }));
        Assert.That(set.Clips[1].ManuallyVerified, Is.True);
        Assert.That(set.Clips[0].Path, Is.EqualTo(Path.Combine(dir["audio_train"], "00044347.wav")));

        var fixedSet = LabelledClipSet.Load(csv, dir.Path, ["Trumpet", "Saxophone", "Hi-hat", "Flute"]);
        Assert.That(fixedSet.Clips.Select(c => c.Label), Is.EqualTo(new[] { 2, 1, 0, 2 }));
        var e = Assert.Throws<CsvFormatException>(() => LabelledClipSet.Load(csv, dir.Path, ["Hi-hat", "Trumpet"]))!;
        Assert.That(e.Message, Does.StartWith("train.csv, line 3, column 2").And.Contain("'Saxophone'"));

        string noFlag = dir.WriteText("test.csv", "fname,label\na.wav,Flute\n");
        Assert.That(LabelledClipSet.Load(noFlag, dir.Path).Clips[0].ManuallyVerified, Is.Null);
        string dup = dir.WriteText("dup.csv", "fname,label\na.wav,Flute\nb.wav,Flute\na.wav,Oboe\n");
        Assert.That(Assert.Throws<CsvFormatException>(() => LabelledClipSet.Load(dup, dir.Path))!.Message, Does.Contain("line 4").And.Contain("already listed on line 2"));
        string noLabel = dir.WriteText("nolabel.csv", "fname,labels\na.wav,Flute\n");
        Assert.That(Assert.Throws<CsvFormatException>(() => LabelledClipSet.Load(noLabel, dir.Path))!.Message, Does.Contain("missing column 'label'"));
        string blank = dir.WriteText("blank.csv", "fname,label\na.wav,  \n");
        Assert.That(Assert.Throws<CsvFormatException>(() => LabelledClipSet.Load(blank, dir.Path))!.Message, Does.Contain("empty value in column 'label'"));
        Assert.Throws<FileNotFoundException>(() => LabelledClipSet.Load(dir["none.csv"], dir.Path));
    }

    [Test]
    public void RainforestBoxesAreValidatedAndGrouped()
    {
        using var dir = new TempDir();
        string csv = dir.WriteText("train_tp.csv",
            "recording_id,species_id,songtype_id,t_min,f_min,t_max,f_max\n" +
            "003bec244,14,1,44.544,2531.25,45.1307,5531.25\n" +
            "006ab765f,23,1,39.9615,7235.16,46.0452,11283.4\n" +
            "003bec244,3,4,1.0,100,2.5,900\n");
        var boxes = RainforestAnnotations.LoadBoxes(csv);
        Assert.That(boxes[0], Is.EqualTo(new SpeciesBox("003bec244", 14, 1, 44.544, 2531.25, 45.1307, 5531.25)));
        var recs = RainforestAnnotations.GroupByRecording(boxes, dir["train"]);
        Assert.That(recs.Select(r => r.RecordingId), Is.EqualTo(new[] { "003bec244", "006ab765f" }));
        Assert.That(recs[0].Boxes.Select(b => b.SpeciesId), Is.EqualTo(new[] { 14, 3 }));
        Assert.That(recs[0].Path, Is.EqualTo(Path.Combine(dir["train"], "003bec244.flac")));

        string header = "recording_id,species_id,songtype_id,t_min,f_min,t_max,f_max\n";
        (string Row, string Problem)[] bad =
        [
            ("r1,1,1,5,100,4,200", "column 6: t_max 4 is before t_min 5"),
            ("r1,1,1,1,300,4,200", "column 7: f_max 200 is below f_min 300"),
            ("r1,-2,1,1,100,4,200", "column 2: -2 is not a non-negative id"),
            ("r1,1,1,x,100,4,200", "column 4: 'x' is not a finite number in column 't_min'"),
            ("r1,1,1,1,100,4", "6 fields, but the header has 7"),
        ];
        foreach (var (row, problem) in bad)
        {
            string f = dir.WriteText("bad.csv", header + "r0,0,1,0,0,1,1\n" + row + "\n");
            var e = Assert.Throws<CsvFormatException>(() => RainforestAnnotations.LoadBoxes(f))!;
            Assert.That(e.Message, Does.StartWith("bad.csv, line 3").And.Contain(problem), row);
        }
        string missing = dir.WriteText("missing.csv", "recording_id,species_id,t_min,f_min,t_max,f_max\n");
        Assert.That(Assert.Throws<CsvFormatException>(() => RainforestAnnotations.LoadBoxes(missing))!.Message, Does.Contain("missing column 'songtype_id'"));
    }

    [Test]
    public void DeepSpeechPathsResolveAgainstTheCsvFolder()
    {
        using var dir = new TempDir();
        string abs = Path.Combine(Path.GetTempPath(), "abs.wav");
        string csv = dir.WriteText("cv/train.csv",
            "wav_filename,wav_filesize,transcript\n" +
            "clips/a.wav,35244,hello world\n" +
            $"{abs},100,\"it's, quoted\"\n" +
            "../other/b.wav,0,\n");
        var clips = DeepSpeechCsv.Load(csv);
        Assert.That(clips[0], Is.EqualTo(new TranscribedClip(Path.Combine(dir["cv"], "clips", "a.wav"), 35244, "hello world")));
        Assert.That(clips[1].Path, Is.EqualTo(abs));
        Assert.That(clips[1].Transcript, Is.EqualTo("it's, quoted"));
        Assert.That(clips[2].Path, Is.EqualTo(Path.Combine(dir.Path, "other", "b.wav")));
        Assert.That(clips[2].Transcript, Is.Empty);

        string bad = dir.WriteText("bad.csv", "wav_filename,wav_filesize,transcript\na.wav,-5,x\n");
        Assert.That(Assert.Throws<CsvFormatException>(() => DeepSpeechCsv.Load(bad))!.Message, Does.StartWith("bad.csv, line 2, column 2").And.Contain("negative"));
        string bad2 = dir.WriteText("bad2.csv", "wav_filename,wav_filesize,transcript\na.wav,12kb,x\n");
        Assert.That(Assert.Throws<CsvFormatException>(() => DeepSpeechCsv.Load(bad2))!.Message, Does.Contain("'12kb' is not an integer in column 'wav_filesize'"));
    }
}
