using Sluice.TestKit;

namespace Sluice.Executors.Process.Tests;

/// <summary>The small files a supervisor writes (pid, exit), read back.</summary>
public sealed class StepFilesTests : IDisposable
{
    private readonly TempDirectory temp = new("sluice-stepfiles");

    public void Dispose() => temp.Dispose();

    private string With(string name, string? text)
    {
        var dir = temp.File(Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        if (text is not null)
        {
            File.WriteAllText(Path.Combine(dir, name), text);
        }
        return dir;
    }

    [Theory]
    [InlineData("0\n", 0)]
    [InlineData("3\n", 3)]
    [InlineData("137", 137)]
    [InlineData("  42 \r\n", 42)]
    [InlineData("-1\n", -1)]
    [InlineData("", null)]
    [InlineData("\n", null)]
    [InlineData("3x\n", null)]
    [InlineData("1 2\n", null)]
    [InlineData("99999999999\n", null)]
    [InlineData(null, null)]
    public void ReadExitCode_WhatTheSupervisorWrote(string? text, int? expected) =>
        Assert.Equal(expected, StepFiles.ReadExitCode(With(StepFiles.Exit, text)));

    [Fact]
    public void ReadExitCode_LongFile_IsNoExitStatus()
    {
        // Not something a supervisor writes: a long file is not read as a number, however it starts.
        Assert.Null(StepFiles.ReadExitCode(With(StepFiles.Exit, "1" + new string(' ', 100) + "\n")));
    }

    [Fact]
    public void ReadExitCode_DirectoryInItsPlace_IsNoExitStatus()
    {
        var dir = With(StepFiles.Exit, null);
        Directory.CreateDirectory(Path.Combine(dir, StepFiles.Exit));

        Assert.Null(StepFiles.ReadExitCode(dir));
    }

    [Theory]
    [InlineData("4242\n", 4242)]
    [InlineData("2", 2)]
    [InlineData("1\n", null)]
    [InlineData("0\n", null)]
    [InlineData("-5\n", null)]
    [InlineData("+7\n", null)]
    [InlineData("pid\n", null)]
    [InlineData(null, null)]
    public void ReadPid_WhatTheSupervisorWrote(string? text, int? expected) =>
        Assert.Equal(expected, StepFiles.ReadPid(With(StepFiles.Pid, text)));
}
