cwlVersion: v1.2
class: Workflow
requirements:
  MultipleInputFeatureRequirement: {}
inputs: []
outputs:
  done:
    type: File
    outputSource: s99/done
steps:
  s0:
    run: true.cwl
    in:
      after: {default: []}
    out: [done]
  s1:
    run: true.cwl
    in:
      after:
        source: [s0/done]
        linkMerge: merge_flattened
    out: [done]
  s2:
    run: true.cwl
    in:
      after:
        source: [s1/done]
        linkMerge: merge_flattened
    out: [done]
  s3:
    run: true.cwl
    in:
      after:
        source: [s2/done]
        linkMerge: merge_flattened
    out: [done]
  s4:
    run: true.cwl
    in:
      after:
        source: [s3/done]
        linkMerge: merge_flattened
    out: [done]
  s5:
    run: true.cwl
    in:
      after:
        source: [s4/done]
        linkMerge: merge_flattened
    out: [done]
  s6:
    run: true.cwl
    in:
      after:
        source: [s5/done]
        linkMerge: merge_flattened
    out: [done]
  s7:
    run: true.cwl
    in:
      after:
        source: [s6/done]
        linkMerge: merge_flattened
    out: [done]
  s8:
    run: true.cwl
    in:
      after:
        source: [s7/done]
        linkMerge: merge_flattened
    out: [done]
  s9:
    run: true.cwl
    in:
      after:
        source: [s8/done]
        linkMerge: merge_flattened
    out: [done]
  s10:
    run: true.cwl
    in:
      after:
        source: [s9/done]
        linkMerge: merge_flattened
    out: [done]
  s11:
    run: true.cwl
    in:
      after:
        source: [s10/done]
        linkMerge: merge_flattened
    out: [done]
  s12:
    run: true.cwl
    in:
      after:
        source: [s11/done]
        linkMerge: merge_flattened
    out: [done]
  s13:
    run: true.cwl
    in:
      after:
        source: [s12/done]
        linkMerge: merge_flattened
    out: [done]
  s14:
    run: true.cwl
    in:
      after:
        source: [s13/done]
        linkMerge: merge_flattened
    out: [done]
  s15:
    run: true.cwl
    in:
      after:
        source: [s14/done]
        linkMerge: merge_flattened
    out: [done]
  s16:
    run: true.cwl
    in:
      after:
        source: [s15/done]
        linkMerge: merge_flattened
    out: [done]
  s17:
    run: true.cwl
    in:
      after:
        source: [s16/done]
        linkMerge: merge_flattened
    out: [done]
  s18:
    run: true.cwl
    in:
      after:
        source: [s17/done]
        linkMerge: merge_flattened
    out: [done]
  s19:
    run: true.cwl
    in:
      after:
        source: [s18/done]
        linkMerge: merge_flattened
    out: [done]
  s20:
    run: true.cwl
    in:
      after:
        source: [s19/done]
        linkMerge: merge_flattened
    out: [done]
  s21:
    run: true.cwl
    in:
      after:
        source: [s20/done]
        linkMerge: merge_flattened
    out: [done]
  s22:
    run: true.cwl
    in:
      after:
        source: [s21/done]
        linkMerge: merge_flattened
    out: [done]
  s23:
    run: true.cwl
    in:
      after:
        source: [s22/done]
        linkMerge: merge_flattened
    out: [done]
  s24:
    run: true.cwl
    in:
      after:
        source: [s23/done]
        linkMerge: merge_flattened
    out: [done]
  s25:
    run: true.cwl
    in:
      after:
        source: [s24/done]
        linkMerge: merge_flattened
    out: [done]
  s26:
    run: true.cwl
    in:
      after:
        source: [s25/done]
        linkMerge: merge_flattened
    out: [done]
  s27:
    run: true.cwl
    in:
      after:
        source: [s26/done]
        linkMerge: merge_flattened
    out: [done]
  s28:
    run: true.cwl
    in:
      after:
        source: [s27/done]
        linkMerge: merge_flattened
    out: [done]
  s29:
    run: true.cwl
    in:
      after:
        source: [s28/done]
        linkMerge: merge_flattened
    out: [done]
  s30:
    run: true.cwl
    in:
      after:
        source: [s29/done]
        linkMerge: merge_flattened
    out: [done]
  s31:
    run: true.cwl
    in:
      after:
        source: [s30/done]
        linkMerge: merge_flattened
    out: [done]
  s32:
    run: true.cwl
    in:
      after:
        source: [s31/done]
        linkMerge: merge_flattened
    out: [done]
  s33:
    run: true.cwl
    in:
      after:
        source: [s32/done]
        linkMerge: merge_flattened
    out: [done]
  s34:
    run: true.cwl
    in:
      after:
        source: [s33/done]
        linkMerge: merge_flattened
    out: [done]
  s35:
    run: true.cwl
    in:
      after:
        source: [s34/done]
        linkMerge: merge_flattened
    out: [done]
  s36:
    run: true.cwl
    in:
      after:
        source: [s35/done]
        linkMerge: merge_flattened
    out: [done]
  s37:
    run: true.cwl
    in:
      after:
        source: [s36/done]
        linkMerge: merge_flattened
    out: [done]
  s38:
    run: true.cwl
    in:
      after:
        source: [s37/done]
        linkMerge: merge_flattened
    out: [done]
  s39:
    run: true.cwl
    in:
      after:
        source: [s38/done]
        linkMerge: merge_flattened
    out: [done]
  s40:
    run: true.cwl
    in:
      after:
        source: [s39/done]
        linkMerge: merge_flattened
    out: [done]
  s41:
    run: true.cwl
    in:
      after:
        source: [s40/done]
        linkMerge: merge_flattened
    out: [done]
  s42:
    run: true.cwl
    in:
      after:
        source: [s41/done]
        linkMerge: merge_flattened
    out: [done]
  s43:
    run: true.cwl
    in:
      after:
        source: [s42/done]
        linkMerge: merge_flattened
    out: [done]
  s44:
    run: true.cwl
    in:
      after:
        source: [s43/done]
        linkMerge: merge_flattened
    out: [done]
  s45:
    run: true.cwl
    in:
      after:
        source: [s44/done]
        linkMerge: merge_flattened
    out: [done]
  s46:
    run: true.cwl
    in:
      after:
        source: [s45/done]
        linkMerge: merge_flattened
    out: [done]
  s47:
    run: true.cwl
    in:
      after:
        source: [s46/done]
        linkMerge: merge_flattened
    out: [done]
  s48:
    run: true.cwl
    in:
      after:
        source: [s47/done]
        linkMerge: merge_flattened
    out: [done]
  s49:
    run: true.cwl
    in:
      after:
        source: [s48/done]
        linkMerge: merge_flattened
    out: [done]
  s50:
    run: true.cwl
    in:
      after:
        source: [s49/done]
        linkMerge: merge_flattened
    out: [done]
  s51:
    run: true.cwl
    in:
      after:
        source: [s50/done]
        linkMerge: merge_flattened
    out: [done]
  s52:
    run: true.cwl
    in:
      after:
        source: [s51/done]
        linkMerge: merge_flattened
    out: [done]
  s53:
    run: true.cwl
    in:
      after:
        source: [s52/done]
        linkMerge: merge_flattened
    out: [done]
  s54:
    run: true.cwl
    in:
      after:
        source: [s53/done]
        linkMerge: merge_flattened
    out: [done]
  s55:
    run: true.cwl
    in:
      after:
        source: [s54/done]
        linkMerge: merge_flattened
    out: [done]
  s56:
    run: true.cwl
    in:
      after:
        source: [s55/done]
        linkMerge: merge_flattened
    out: [done]
  s57:
    run: true.cwl
    in:
      after:
        source: [s56/done]
        linkMerge: merge_flattened
    out: [done]
  s58:
    run: true.cwl
    in:
      after:
        source: [s57/done]
        linkMerge: merge_flattened
    out: [done]
  s59:
    run: true.cwl
    in:
      after:
        source: [s58/done]
        linkMerge: merge_flattened
    out: [done]
  s60:
    run: true.cwl
    in:
      after:
        source: [s59/done]
        linkMerge: merge_flattened
    out: [done]
  s61:
    run: true.cwl
    in:
      after:
        source: [s60/done]
        linkMerge: merge_flattened
    out: [done]
  s62:
    run: true.cwl
    in:
      after:
        source: [s61/done]
        linkMerge: merge_flattened
    out: [done]
  s63:
    run: true.cwl
    in:
      after:
        source: [s62/done]
        linkMerge: merge_flattened
    out: [done]
  s64:
    run: true.cwl
    in:
      after:
        source: [s63/done]
        linkMerge: merge_flattened
    out: [done]
  s65:
    run: true.cwl
    in:
      after:
        source: [s64/done]
        linkMerge: merge_flattened
    out: [done]
  s66:
    run: true.cwl
    in:
      after:
        source: [s65/done]
        linkMerge: merge_flattened
    out: [done]
  s67:
    run: true.cwl
    in:
      after:
        source: [s66/done]
        linkMerge: merge_flattened
    out: [done]
  s68:
    run: true.cwl
    in:
      after:
        source: [s67/done]
        linkMerge: merge_flattened
    out: [done]
  s69:
    run: true.cwl
    in:
      after:
        source: [s68/done]
        linkMerge: merge_flattened
    out: [done]
  s70:
    run: true.cwl
    in:
      after:
        source: [s69/done]
        linkMerge: merge_flattened
    out: [done]
  s71:
    run: true.cwl
    in:
      after:
        source: [s70/done]
        linkMerge: merge_flattened
    out: [done]
  s72:
    run: true.cwl
    in:
      after:
        source: [s71/done]
        linkMerge: merge_flattened
    out: [done]
  s73:
    run: true.cwl
    in:
      after:
        source: [s72/done]
        linkMerge: merge_flattened
    out: [done]
  s74:
    run: true.cwl
    in:
      after:
        source: [s73/done]
        linkMerge: merge_flattened
    out: [done]
  s75:
    run: true.cwl
    in:
      after:
        source: [s74/done]
        linkMerge: merge_flattened
    out: [done]
  s76:
    run: true.cwl
    in:
      after:
        source: [s75/done]
        linkMerge: merge_flattened
    out: [done]
  s77:
    run: true.cwl
    in:
      after:
        source: [s76/done]
        linkMerge: merge_flattened
    out: [done]
  s78:
    run: true.cwl
    in:
      after:
        source: [s77/done]
        linkMerge: merge_flattened
    out: [done]
  s79:
    run: true.cwl
    in:
      after:
        source: [s78/done]
        linkMerge: merge_flattened
    out: [done]
  s80:
    run: true.cwl
    in:
      after:
        source: [s79/done]
        linkMerge: merge_flattened
    out: [done]
  s81:
    run: true.cwl
    in:
      after:
        source: [s80/done]
        linkMerge: merge_flattened
    out: [done]
  s82:
    run: true.cwl
    in:
      after:
        source: [s81/done]
        linkMerge: merge_flattened
    out: [done]
  s83:
    run: true.cwl
    in:
      after:
        source: [s82/done]
        linkMerge: merge_flattened
    out: [done]
  s84:
    run: true.cwl
    in:
      after:
        source: [s83/done]
        linkMerge: merge_flattened
    out: [done]
  s85:
    run: true.cwl
    in:
      after:
        source: [s84/done]
        linkMerge: merge_flattened
    out: [done]
  s86:
    run: true.cwl
    in:
      after:
        source: [s85/done]
        linkMerge: merge_flattened
    out: [done]
  s87:
    run: true.cwl
    in:
      after:
        source: [s86/done]
        linkMerge: merge_flattened
    out: [done]
  s88:
    run: true.cwl
    in:
      after:
        source: [s87/done]
        linkMerge: merge_flattened
    out: [done]
  s89:
    run: true.cwl
    in:
      after:
        source: [s88/done]
        linkMerge: merge_flattened
    out: [done]
  s90:
    run: true.cwl
    in:
      after:
        source: [s89/done]
        linkMerge: merge_flattened
    out: [done]
  s91:
    run: true.cwl
    in:
      after:
        source: [s90/done]
        linkMerge: merge_flattened
    out: [done]
  s92:
    run: true.cwl
    in:
      after:
        source: [s91/done]
        linkMerge: merge_flattened
    out: [done]
  s93:
    run: true.cwl
    in:
      after:
        source: [s92/done]
        linkMerge: merge_flattened
    out: [done]
  s94:
    run: true.cwl
    in:
      after:
        source: [s93/done]
        linkMerge: merge_flattened
    out: [done]
  s95:
    run: true.cwl
    in:
      after:
        source: [s94/done]
        linkMerge: merge_flattened
    out: [done]
  s96:
    run: true.cwl
    in:
      after:
        source: [s95/done]
        linkMerge: merge_flattened
    out: [done]
  s97:
    run: true.cwl
    in:
      after:
        source: [s96/done]
        linkMerge: merge_flattened
    out: [done]
  s98:
    run: true.cwl
    in:
      after:
        source: [s97/done]
        linkMerge: merge_flattened
    out: [done]
  s99:
    run: true.cwl
    in:
      after:
        source: [s98/done]
        linkMerge: merge_flattened
    out: [done]
