using System.Text;

namespace Sluice.Executors.Process.Tests;

public sealed class ProcFsTests
{
    [Fact]
    public void Parse_CommandNameWithSpacesAndParentheses_ReadsFieldsAfterIt()
    {
        var line = "4242 (we ird) (name) S 1 4240 4239 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 100 18446744073709551615\n";

        var stat = ProcFs.Parse(4242, Encoding.ASCII.GetBytes(line));

        Assert.Equal(new ProcStat(4242, 'S', 1, 4240, 4239, 987654), stat);
        Assert.True(stat!.Value.Alive);
    }

    [Fact]
    public void Parse_Zombie_IsNotAlive()
    {
        var stat = ProcFs.Parse(7, "7 (sleep) Z 1 7 7 0 -1 4227084 0 0 0 0 0 0 0 0 20 0 1 0 55 0 0\n"u8);

        Assert.False(stat!.Value.Alive);
    }

    [Fact]
    public void ReadStat_OwnProcess_MatchesEnvironment()
    {
        var stat = ProcFs.ReadStat(Environment.ProcessId);

        Assert.NotNull(stat);
        Assert.Equal(Environment.ProcessId, stat.Value.Pid);
        Assert.True(stat.Value.StartTime > 0);
        Assert.Contains(ProcFs.GroupMembers(stat.Value.ProcessGroup), m => m.Pid == Environment.ProcessId);
    }
}
