// The fault, disk-full and soak tests measure a real server under a fixed load on a shared 2-core machine: they run one
// after another so that none of them is starved by another's server.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
