using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Sluice.TestKit;

namespace Sluice.Server.Tests.Security;

/// <summary>How the server protects itself from the first start: loopback only in development mode, which it announces; a
/// local admin token created once; credentials files checked; TLS from certificate paths.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class StartupTests
{
    [Fact]
    public async Task FirstStart_CreatesLocalAdminTokenOnce_PrintedOnlyThen_StillValidAfterRestart()
    {
        await using var s = await ServerProcess.StartFreshAsync();
        var file = Path.Combine(s.DataDir, "admin.token");
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
        Assert.Equal(s.Token, (await File.ReadAllTextAsync(file)).Trim());
        Assert.Single(s.Output.Split(s.Token)[1..]);
        using var anonymous = s.NewClient(TimeSpan.FromSeconds(30), token: null);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/api/v1/runs")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await s.Http.GetAsync("/api/v1/runs")).StatusCode);

        await s.TerminateAsync();
        await s.RestartAsync();
        Assert.Single(s.Output.Split(s.Token)[1..]);
        Assert.Equal(HttpStatusCode.OK, (await s.Http.GetAsync("/api/v1/runs")).StatusCode);
    }

    [Fact]
    public async Task DevMode_AnnouncedLoudly_AcceptsAnyone_RefusesToLeaveLoopback()
    {
        await using (var dev = await ServerProcess.StartAsync(null, "--auth", "dev"))
        {
            Assert.Contains("DEVELOPMENT MODE (--auth dev): AUTHENTICATION IS OFF", dev.Output, StringComparison.Ordinal);
            using var anonymous = dev.NewClient(TimeSpan.FromSeconds(30), token: null);
            Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/api/v1/runs")).StatusCode);
        }
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => ServerProcess.StartAsync(null, "--auth", "dev", "--urls", "http://0.0.0.0:0"));
        Assert.Contains("loopback only", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CredentialsFile_OthersMayChangeIt_OrBroken_ServerRefusesToStartSayingWhere()
    {
        using var dir = new TempDirectory("sluice-creds");
        var writable = dir.File("writable.yaml");
        TestCredentials.Write(writable, TestCredentials.File);
        File.SetUnixFileMode(writable, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupWrite);
        var e1 = await Assert.ThrowsAsync<InvalidOperationException>(() => ServerProcess.StartAsync(null, "--credentials", writable));
        Assert.Contains("chmod 600", e1.Message, StringComparison.Ordinal);

        var broken = dir.File("broken.yaml");
        TestCredentials.Write(broken, "apiTokens:\n  - name: x\n    tenant: acme\n    scope: root\n    token: slu_0123456789abcdef\n");
        var e2 = await Assert.ThrowsAsync<InvalidOperationException>(() => ServerProcess.StartAsync(null, "--credentials", broken));
        Assert.Contains("broken.yaml line 4: scope must be read, run or admin, not 'root'", e2.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("slu_0123456789abcdef", e2.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Tls_CertificateAndKeyPaths_ServesHttps()
    {
        using var dir = new TempDirectory("sluice-tls");
        using var key = RSA.Create(2048);
        var req = new CertificateRequest("CN=127.0.0.1", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        req.CertificateExtensions.Add(san.Build());
        var now = TimeProvider.System.GetUtcNow();
        using var cert = req.CreateSelfSigned(now.AddDays(-1), now.AddDays(1));
        await File.WriteAllTextAsync(dir.File("cert.pem"), cert.ExportCertificatePem());
        TestCredentials.Write(dir.File("key.pem"), key.ExportPkcs8PrivateKeyPem());

        await using var s = await ServerProcess.StartAsync(null, "--tls-cert", dir.File("cert.pem"), "--tls-key", dir.File("key.pem"));

        Assert.Equal("https", s.BaseAddress.Scheme);
        using var r = await s.Http.GetAsync("/api/v1/runs");
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
    }
}
