# A step that forks a child and waits: `sleep M & sleep M`, M being the run's marker (a unique duration, so the
# benchmark finds exactly this run's processes). A quarter core each, so that 8 fit on a small machine where the
# runner allows it (cwltool rounds up to whole cores; Toil does not).
cwlVersion: v1.2
class: CommandLineTool
requirements:
  ResourceRequirement: {coresMin: 0.25, ramMin: 16}
baseCommand: [sh, -c]
inputs:
  marker: string
arguments: ["sleep $(inputs.marker) & sleep $(inputs.marker)"]
outputs: []
