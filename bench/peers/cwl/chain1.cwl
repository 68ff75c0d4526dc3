cwlVersion: v1.2
class: Workflow
requirements:
  MultipleInputFeatureRequirement: {}
inputs: []
outputs:
  done:
    type: File
    outputSource: s0/done
steps:
  s0:
    run: true.cwl
    in:
      after: {default: []}
    out: [done]
