cwlVersion: v1.2
class: Workflow
requirements:
  MultipleInputFeatureRequirement: {}
inputs: []
outputs:
  done:
    type: File
    outputSource: sink/done
steps:
  root:
    run: true.cwl
    in:
      after: {default: []}
    out: [done]
  m0:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m1:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m2:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m3:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m4:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m5:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m6:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m7:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m8:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m9:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m10:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m11:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m12:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m13:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m14:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m15:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m16:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m17:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m18:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m19:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m20:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m21:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m22:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m23:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m24:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m25:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m26:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m27:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m28:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m29:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m30:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m31:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m32:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m33:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m34:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m35:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m36:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m37:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m38:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m39:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m40:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m41:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m42:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m43:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m44:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m45:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m46:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m47:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m48:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m49:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m50:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m51:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m52:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m53:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m54:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m55:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m56:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m57:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m58:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m59:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m60:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m61:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m62:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m63:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m64:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m65:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m66:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m67:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m68:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m69:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m70:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m71:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m72:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m73:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m74:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m75:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m76:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m77:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m78:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m79:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m80:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m81:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m82:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m83:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m84:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m85:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m86:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m87:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m88:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m89:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m90:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m91:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m92:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m93:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m94:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m95:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m96:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m97:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m98:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m99:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m100:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m101:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m102:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m103:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m104:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m105:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m106:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m107:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m108:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m109:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m110:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m111:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m112:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m113:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m114:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m115:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m116:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m117:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m118:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m119:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m120:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m121:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m122:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m123:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m124:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m125:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m126:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m127:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m128:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m129:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m130:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m131:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m132:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m133:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m134:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m135:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m136:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m137:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m138:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m139:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m140:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m141:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m142:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m143:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m144:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m145:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m146:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m147:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m148:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m149:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m150:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m151:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m152:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m153:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m154:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m155:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m156:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m157:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m158:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m159:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m160:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m161:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m162:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m163:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m164:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m165:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m166:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m167:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m168:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m169:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m170:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m171:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m172:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m173:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m174:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m175:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m176:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m177:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m178:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m179:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m180:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m181:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m182:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m183:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m184:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m185:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m186:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m187:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m188:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m189:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m190:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m191:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m192:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m193:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m194:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m195:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m196:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  m197:
    run: true.cwl
    in:
      after:
        source: [root/done]
        linkMerge: merge_flattened
    out: [done]
  sink:
    run: true.cwl
    in:
      after:
        source: [m0/done, m1/done, m2/done, m3/done, m4/done, m5/done, m6/done, m7/done, m8/done, m9/done, m10/done, m11/done, m12/done, m13/done, m14/done, m15/done, m16/done, m17/done, m18/done, m19/done, m20/done, m21/done, m22/done, m23/done, m24/done, m25/done, m26/done, m27/done, m28/done, m29/done, m30/done, m31/done, m32/done, m33/done, m34/done, m35/done, m36/done, m37/done, m38/done, m39/done, m40/done, m41/done, m42/done, m43/done, m44/done, m45/done, m46/done, m47/done, m48/done, m49/done, m50/done, m51/done, m52/done, m53/done, m54/done, m55/done, m56/done, m57/done, m58/done, m59/done, m60/done, m61/done, m62/done, m63/done, m64/done, m65/done, m66/done, m67/done, m68/done, m69/done, m70/done, m71/done, m72/done, m73/done, m74/done, m75/done, m76/done, m77/done, m78/done, m79/done, m80/done, m81/done, m82/done, m83/done, m84/done, m85/done, m86/done, m87/done, m88/done, m89/done, m90/done, m91/done, m92/done, m93/done, m94/done, m95/done, m96/done, m97/done, m98/done, m99/done, m100/done, m101/done, m102/done, m103/done, m104/done, m105/done, m106/done, m107/done, m108/done, m109/done, m110/done, m111/done, m112/done, m113/done, m114/done, m115/done, m116/done, m117/done, m118/done, m119/done, m120/done, m121/done, m122/done, m123/done, m124/done, m125/done, m126/done, m127/done, m128/done, m129/done, m130/done, m131/done, m132/done, m133/done, m134/done, m135/done, m136/done, m137/done, m138/done, m139/done, m140/done, m141/done, m142/done, m143/done, m144/done, m145/done, m146/done, m147/done, m148/done, m149/done, m150/done, m151/done, m152/done, m153/done, m154/done, m155/done, m156/done, m157/done, m158/done, m159/done, m160/done, m161/done, m162/done, m163/done, m164/done, m165/done, m166/done, m167/done, m168/done, m169/done, m170/done, m171/done, m172/done, m173/done, m174/done, m175/done, m176/done, m177/done, m178/done, m179/done, m180/done, m181/done, m182/done, m183/done, m184/done, m185/done, m186/done, m187/done, m188/done, m189/done, m190/done, m191/done, m192/done, m193/done, m194/done, m195/done, m196/done, m197/done]
        linkMerge: merge_flattened
    out: [done]
