cwlVersion: v1.2
class: Workflow
inputs:
  marker: string
outputs: []
steps:
  s0:
    run: sleeper.cwl
    in: {marker: marker}
    out: []
  s1:
    run: sleeper.cwl
    in: {marker: marker}
    out: []
  s2:
    run: sleeper.cwl
    in: {marker: marker}
    out: []
  s3:
    run: sleeper.cwl
    in: {marker: marker}
    out: []
  s4:
    run: sleeper.cwl
    in: {marker: marker}
    out: []
  s5:
    run: sleeper.cwl
    in: {marker: marker}
    out: []
  s6:
    run: sleeper.cwl
    in: {marker: marker}
    out: []
  s7:
    run: sleeper.cwl
    in: {marker: marker}
    out: []
