# One trivial step: runs `true`. Its captured (empty) stdout is the output the next step waits for, which is how
# CWL expresses "after" without JavaScript.
cwlVersion: v1.2
class: CommandLineTool
baseCommand: "true"
inputs:
  after:
    type: File[]?
outputs:
  done:
    type: stdout
