using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;
using Sluice.Core.Domain;
using Sluice.Server.Apis.SageMaker;
using Sluice.Server.Auth;

namespace Sluice.Server.Tests.SageMaker;

/// <summary>The pure parts of the AWS faces: state mapping over every value, and SigV4 against the spec's captured vector.</summary>
public class FaceUnitTests
{
    [Theory]
    [InlineData(RunState.Queued, "Executing")]
    [InlineData(RunState.Running, "Executing")]
    [InlineData(RunState.Stopping, "Stopping")]
    [InlineData(RunState.Stopped, "Stopped")]
    [InlineData(RunState.Succeeded, "Succeeded")]
    [InlineData(RunState.Failed, "Failed")]
    public void ExecutionStatus_EveryRunState_MapsToSageMaker(RunState state, string expected) =>
        Assert.Equal(expected, SageMakerMapper.ExecutionStatus(state));

    [Fact]
    public void ExecutionStatus_CoversEveryRunState() =>
        Assert.All(Enum.GetValues<RunState>(), s => Assert.Contains(SageMakerMapper.ExecutionStatus(s), new[] { "Executing", "Stopping", "Stopped", "Succeeded", "Failed" }));

    [Theory]
    [InlineData(StepState.Pending, 0, null)]
    [InlineData(StepState.Pending, 1, "Starting")]
    [InlineData(StepState.Starting, 1, "Starting")]
    [InlineData(StepState.Running, 1, "Executing")]
    [InlineData(StepState.Stopping, 1, "Stopping")]
    [InlineData(StepState.Stopped, 1, "Stopped")]
    [InlineData(StepState.Succeeded, 1, "Succeeded")]
    [InlineData(StepState.Failed, 1, "Failed")]
    [InlineData(StepState.Skipped, 0, null)]
    [InlineData(StepState.NotStarted, 0, null)]
    public void StepStatus_EveryStepState_MapsToSageMakerOrIsNotListed(StepState state, int attempt, string? expected) =>
        Assert.Equal(expected, SageMakerMapper.StepStatus(new StepRecord { RunId = "r", Name = "s", Kind = "process", State = state, Version = 1, Attempt = attempt }));

    [Fact]
    public void StepStatus_CoversEveryStepState() =>
        Assert.All(Enum.GetValues<StepState>(), s => SageMakerMapper.StepStatus(new StepRecord { RunId = "r", Name = "s", Kind = "process", State = s, Version = 1 }));

    private const string Body =
        """{"PipelineExecutionArn": "arn:aws:sagemaker:us-east-1:123456789012:pipeline/my-pipeline/execution/abc123def456", "ClientRequestToken": "336725bb-9d3e-46b8-8771-b4737e648c2d"}""";

    private static readonly DateTimeOffset SignedAt = new(2026, 11, 21, 12, 14, 19, TimeSpan.Zero);

    private static readonly AwsAuthOptions Keys = new()
    {
        Mode = AwsAuthMode.SigV4,
        Keys = new Dictionary<string, AwsKey> { ["AKIDEXAMPLE"] = new("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "123456789012") },
    };

    /// <summary>The botocore 1.29.27 capture of spec 1.5.</summary>
    private static HttpRequest Captured(string body = Body)
    {
        var http = new DefaultHttpContext();
        var r = http.Request;
        r.Method = "POST";
        r.Path = "/";
        r.Headers["X-Amz-Target"] = "SageMaker.StopPipelineExecution";
        r.Headers["Content-Type"] = "application/x-amz-json-1.1";
        r.Headers["Host"] = "127.0.0.1:5056";
        r.Headers["X-Amz-Date"] = "20261121T121419Z";
        r.Headers["Authorization"] = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261121/us-east-1/sagemaker/aws4_request, " +
            "SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=badb65dfb27fd7787a0675e4c4a18f3c101482c4ca2bb1adc6219e58383b6a46";
        return r;
    }

    [Fact]
    public void SigV4_SpecVector_Verifies()
    {
        var body = Encoding.UTF8.GetBytes(Body);
        Assert.Equal("441f9c34f2d0210b7a7c5e573f8910ccfa6f363d230d3fd74c2a21333493b6bc", Convert.ToHexStringLower(SHA256.HashData(body)));
        Assert.Equal("840a5faebe60c5afa58c1b33826d6bd69db816c9e9dabe440768c96d58fd8ec2",
            Convert.ToHexStringLower(SigV4.SigningKey("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20261121", "us-east-1", "sagemaker")));
        var caller = SigV4.Authenticate(Captured(), body, "sagemaker", Keys, SignedAt.AddMinutes(4));
        Assert.Equal("123456789012", caller.Account);
        Assert.Equal("us-east-1", caller.Region);
        Assert.Equal(new Scope("123456789012", "us-east-1"), caller.Scope);
    }

    [Fact]
    public void SigV4_ChangedBodyExpiredDateOrOtherService_IsRejected()
    {
        var changed = Encoding.UTF8.GetBytes(Body.Replace("abc123", "abc124", StringComparison.Ordinal));
        Assert.Equal("InvalidSignatureException",
            Assert.Throws<AwsAuthException>(() => SigV4.Authenticate(Captured(), changed, "sagemaker", Keys, SignedAt)).Code);
        var expired = Assert.Throws<AwsAuthException>(() =>
            SigV4.Authenticate(Captured(), Encoding.UTF8.GetBytes(Body), "sagemaker", Keys, SignedAt.AddMinutes(6)));
        Assert.Equal("InvalidSignatureException", expired.Code);
        Assert.StartsWith("Signature expired: 20261121T121419Z is now earlier than", expired.Message, StringComparison.Ordinal);
        Assert.Equal("InvalidSignatureException",
            Assert.Throws<AwsAuthException>(() => SigV4.Authenticate(Captured(), Encoding.UTF8.GetBytes(Body), "sqs", Keys, SignedAt)).Code);
        // Development mode takes any key and signature, and still reads the region of the scope.
        var dev = SigV4.Authenticate(Captured(), changed, "sagemaker", new AwsAuthOptions(), SignedAt.AddDays(3));
        Assert.Equal(new Scope("default", "us-east-1"), dev.Scope);
        Assert.Equal("000000000000", dev.Account);
    }
}
