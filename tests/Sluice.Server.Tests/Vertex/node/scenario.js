// Drives a real Sluice server with Google's own Vertex AI Node client (@google-cloud/aiplatform, REST fallback) and prints one
// JSON object with what it saw, for VertexNodeClientTests to assert on. Usage: node scenario.js PORT SPECS_DIR SUFFIX
// SPECS_DIR holds the pipeline specs as JSON (the test writes them). Every call is the client's, unchanged; the only options
// are the ones a local endpoint needs (spec 5.7): apiEndpoint, port, protocol http, REST fallback, no Google credentials.
'use strict';
const fs = require('fs');
const path = require('path');
const {v1, helpers} = require('@google-cloud/aiplatform');
const {OAuth2Client, PassThroughClient} = require('google-auth-library');

const [port, specsDir, suffix] = process.argv.slice(2);
const parent = 'projects/my-proj/locations/us-central1';
// The same project by its number (the tests configure both as one tenant): the seed mixes them.
const parentByNumber = 'projects/123456789012/locations/us-central1';
const out = {};

// With SLUICE_VERTEX_TOKEN, the client authenticates as a Google client does with an access token (Authorization: Bearer);
// without it, it sends no credentials at all.
function authClient() {
  const token = process.env.SLUICE_VERTEX_TOKEN;
  if (!token) return new PassThroughClient();
  const c = new OAuth2Client();
  c.setCredentials({access_token: token});
  return c;
}

const client = new v1.PipelineServiceClient({
  apiEndpoint: '127.0.0.1', port: Number(port), protocol: 'http', fallback: true, authClient: authClient(),
});

const spec = name => JSON.parse(fs.readFileSync(path.join(specsDir, name + '.json'), 'utf8'));
const sleep = ms => new Promise(r => setTimeout(r, ms));
const terminal = s => ['PIPELINE_STATE_SUCCEEDED', 'PIPELINE_STATE_FAILED', 'PIPELINE_STATE_CANCELLED'].includes(s);
const jobName = id => `${parent}/pipelineJobs/${id}`;

async function create(id, specName, runtimeConfig = {}, labels = {}) {
  const [job] = await client.createPipelineJob({
    parent, pipelineJobId: id,
    pipelineJob: {
      displayName: id, labels, pipelineSpec: helpers.toValue(spec(specName)).structValue,
      runtimeConfig: {gcsOutputDirectory: 'gs://sluice-tests/root', ...runtimeConfig},
    },
  });
  return job;
}

async function waitFor(name, done, seconds = 60) {
  const until = Date.now() + seconds * 1000;
  const seen = [];
  for (;;) {
    const [job] = await client.getPipelineJob({name});
    if (seen[seen.length - 1] !== job.state) seen.push(job.state);
    if (done(job)) return {job, seen};
    if (Date.now() > until) throw new Error(`${name}: still ${job.state} after ${seconds}s (saw ${seen})`);
    await sleep(50);
  }
}

const tasks = job => Object.fromEntries((job.jobDetail?.taskDetails ?? []).map(t => [t.taskUniqueName, t.state]));

async function error(fn) {
  try {
    await fn();
    return {ok: true};
  } catch (e) {
    // google-gax 5 (Node 20) surfaces REST errors as GaxiosError: code = HTTP status, message = the body.
    let status;
    try { status = JSON.parse(e.message).error.status; } catch { status = e.status ?? e.details; }
    return {code: e.code, status, message: String(e.message).slice(0, 400)};
  }
}

(async () => {
  // Create from the corpus and run to the end.
  const pc = await create(`pc-${suffix}`, 'producer_consumer_param_pipeline', {parameterValues: {text: helpers.toValue('from node')}});
  out.createdName = pc.name;
  out.createdState = pc.state;
  const pcDone = await waitFor(pc.name, j => terminal(j.state));
  out.pc = {state: pcDone.job.state, tasks: tasks(pcDone.job), text: pcDone.job.runtimeConfig.parameterValues.text.stringValue,
    hasSpec: pcDone.job.pipelineSpec != null};

  // A PipelineJob-shaped corpus file: its runtimeConfig (schema 2.0.0 parameters) goes as is.
  const jobFile = spec('kfp1.8_pipelinejob_pipeline_with_condition');
  const [cond] = await client.createPipelineJob({
    parent, pipelineJobId: `cond-${suffix}`,
    pipelineJob: {
      displayName: 'condition', pipelineSpec: helpers.toValue(jobFile.pipelineSpec).structValue,
      runtimeConfig: {gcsOutputDirectory: 'gs://sluice-tests/root', parameters: {text: {stringValue: 'from the job file'}}},
    },
  });
  const condDone = await waitFor(cond.name, j => terminal(j.state));
  out.cond = {state: condDone.job.state, tasks: tasks(condDone.job)};

  const failing = await create(`eh-${suffix}`, 'kfp1.8_experimental_pipeline_with_exit_handler');
  const failDone = await waitFor(failing.name, j => terminal(j.state));
  out.failed = {state: failDone.job.state, errorCode: failDone.job.error?.code, tasks: tasks(failDone.job)};

  // Long runs: the server has two slots, so a third job stays queued until one frees.
  const labels = {group: `g${suffix}`};
  const slow = {parameterValues: {seconds: helpers.toValue(300)}};
  const l1 = await create(`l1-${suffix}`, 'long-running', slow, labels);
  const l2 = await create(`l2-${suffix}`, 'long-running', slow, labels);
  await waitFor(l1.name, j => j.state === 'PIPELINE_STATE_RUNNING' && tasks(j).first === 'RUNNING');
  await waitFor(l2.name, j => j.state === 'PIPELINE_STATE_RUNNING' && tasks(j).first === 'RUNNING');
  const l3 = await create(`l3-${suffix}`, 'long-running', slow, labels);
  out.queued = (await client.getPipelineJob({name: l3.name}))[0].state;

  // List: filters, paging (by hand and automatic), readMask.
  const running = `labels.group="g${suffix}" AND state="PIPELINE_STATE_RUNNING"`;
  const [listed] = await client.listPipelineJobs({parent, filter: running});
  out.listRunning = listed.map(j => j.name).sort();
  const [orList] = await client.listPipelineJobs({parent, filter: `labels.group="g${suffix}" AND state="PIPELINE_STATE_QUEUED" OR state="PIPELINE_STATE_RUNNING"`});
  out.listQueuedOrRunning = orList.length;
  const [page1, , resp1] = await client.listPipelineJobs({parent, filter: `labels.group="g${suffix}"`, pageSize: 2, orderBy: 'create_time asc'},
    {autoPaginate: false});
  const [page2, , resp2] = await client.listPipelineJobs({parent, filter: `labels.group="g${suffix}"`, pageSize: 2, orderBy: 'create_time asc',
    pageToken: resp1.nextPageToken}, {autoPaginate: false});
  out.pages = [page1.map(j => j.name), page2.map(j => j.name), Boolean(resp1.nextPageToken), resp2.nextPageToken ?? ''];
  const [masked] = await client.listPipelineJobs({parent, filter: `labels.group="g${suffix}"`, readMask: {paths: ['name', 'state', 'display_name']}});
  out.masked = masked.map(j => ({name: j.name, displayName: j.displayName, hasSpec: j.pipelineSpec != null, hasDetail: j.jobDetail != null,
    hasCreateTime: j.createTime != null}));

  // Cancel: a queued job, a running one, a terminal one, an unknown one.
  await client.cancelPipelineJob({name: l3.name});
  out.cancelQueued = (await waitFor(l3.name, j => terminal(j.state))).job.state;
  await client.cancelPipelineJob({name: l1.name});
  const l1Done = await waitFor(l1.name, j => terminal(j.state));
  out.cancelRunning = {seen: l1Done.seen, state: l1Done.job.state, error: l1Done.job.error, tasks: tasks(l1Done.job),
    endTime: l1Done.job.endTime != null};
  out.cancelTerminal = await error(() => client.cancelPipelineJob({name: pc.name}));
  out.cancelUnknown = await error(() => client.cancelPipelineJob({name: jobName(`nope-${suffix}`)}));

  // Batch cancel, awaited through its operation (the client polls GET /ui/{operation}); names by project number.
  const [op] = await client.batchCancelPipelineJobs({parent,
    names: [`${parentByNumber}/pipelineJobs/l2-${suffix}`, pc.name, l1.name]});
  const [batch, metadata] = await op.promise();
  out.batchCancel = {
    operation: op.name, cancelled: batch.pipelineJobs.map(j => [j.name, j.state]),
    partialFailures: (metadata?.genericMetadata?.partialFailures ?? op.metadata?.genericMetadata?.partialFailures ?? []).length,
    hasCreateTime: op.metadata?.genericMetadata?.createTime != null,
  };
  out.afterBatch = (await client.getPipelineJob({name: l2.name}))[0].state;
  out.batchTooMany = await error(() => client.batchCancelPipelineJobs({parent, names: Array.from({length: 33}, (_, i) => jobName(`x${i}`))}));
  out.batchOtherParent = await error(() => client.batchCancelPipelineJobs({parent, names: ['projects/other/locations/europe-west4/pipelineJobs/x']}));
  out.batchUnknown = await error(() => client.batchCancelPipelineJobs({parent, names: [jobName(`nope-${suffix}`)]}));

  // The operations client reads the operation back, lists it, and cannot delete an unknown one.
  const [gotOp] = await client.operationsClient.getOperation({name: op.name});
  out.getOperation = {name: gotOp.name, done: gotOp.done};
  const [ops] = await client.operationsClient.listOperations({name: parent, filter: ''});
  out.listOperations = ops.some(o => o.name === op.name);

  // Delete: a running job cannot be; finished ones can, one by one or in a batch (all or none).
  const l4 = await create(`l4-${suffix}`, 'long-running', slow, labels);
  await waitFor(l4.name, j => j.state === 'PIPELINE_STATE_RUNNING');
  out.deleteRunning = await error(() => client.deletePipelineJob({name: l4.name}));
  out.batchDeleteWithRunning = await error(() => client.batchDeletePipelineJobs({parent, names: [l1.name, l4.name]}));
  out.l1StillThere = (await client.getPipelineJob({name: l1.name}))[0].state;
  await client.cancelPipelineJob({name: l4.name});
  await waitFor(l4.name, j => terminal(j.state));
  const [del] = await client.deletePipelineJob({name: pc.name});
  await del.promise();
  out.deleted = await error(() => client.getPipelineJob({name: pc.name}));
  const [bdel] = await client.batchDeletePipelineJobs({parent, names: [l1.name, l2.name, l3.name, l4.name]});
  const [bdelResp] = await bdel.promise();
  out.batchDeleted = bdelResp.pipelineJobs.map(j => j.name).sort();
  out.batchDeletedGone = await error(() => client.getPipelineJob({name: l2.name}));

  await client.close();
  process.stdout.write(JSON.stringify(out) + '\n');
})().catch(async e => {
  process.stdout.write(JSON.stringify({fatal: String(e && e.stack || e), partial: out}) + '\n');
  await client.close();
  process.exitCode = 1;
});
