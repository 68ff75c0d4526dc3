#!/usr/bin/env python3
"""Writes the long, regular benchmark workflows (chains and fan-outs) for Sluice and CWL, so the files in this
directory stay reviewable: run `python3 bench/peers/generate.py` after changing a shape. The Snakefile needs no
generation (its rules take the size from --config)."""
import os

HERE = os.path.dirname(os.path.abspath(__file__))
CHAIN, FAN_MID = 100, 198  # a 100-step chain; a fan-out/fan-in of 1 + 198 + 1 = 200 steps


def write(rel, text):
    with open(os.path.join(HERE, rel), "w", encoding="utf-8") as f:
        f.write(text)


def sluice_step(name, deps):
    s = f'  - name: {name}\n    command: "true"\n'
    if deps:
        s += "    dependsOn: [" + ", ".join(deps) + "]\n"
    return s


def sluice_chain(n):
    return f"name: chain{n}\nsteps:\n" + "".join(sluice_step(f"s{i}", [f"s{i-1}"] if i else []) for i in range(n))


def sluice_fan(m):
    return (f"name: fan{m + 2}\nsteps:\n" + sluice_step("root", [])
            + "".join(sluice_step(f"m{i}", ["root"]) for i in range(m))
            + sluice_step("sink", [f"m{i}" for i in range(m)]))


CWL_HEAD = ["cwlVersion: v1.2", "class: Workflow", "requirements:", "  MultipleInputFeatureRequirement: {}",
            "inputs: []", "outputs:", "  done:", "    type: File"]


def cwl_step(name, deps):
    s = [f"  {name}:", "    run: true.cwl", "    in:"]
    if deps:
        s += ["      after:", "        source: [" + ", ".join(f"{d}/done" for d in deps) + "]",
              "        linkMerge: merge_flattened"]
    else:
        s += ["      after: {default: []}"]
    return s + ["    out: [done]"]


def cwl_chain(n):
    s = CWL_HEAD + [f"    outputSource: s{n-1}/done", "steps:"]
    for i in range(n):
        s += cwl_step(f"s{i}", [f"s{i-1}"] if i else [])
    return "\n".join(s) + "\n"


def cwl_fan(m):
    s = CWL_HEAD + ["    outputSource: sink/done", "steps:"] + cwl_step("root", [])
    for i in range(m):
        s += cwl_step(f"m{i}", ["root"])
    return "\n".join(s + cwl_step("sink", [f"m{i}" for i in range(m)])) + "\n"


def sluice_stop(ignore_term):
    trap = "trap '' TERM; " if ignore_term else ""
    name = "stop8-ignore-term" if ignore_term else "stop8"
    s = f"name: {name}\nparameters:\n  marker: {{ type: String }}\nsteps:\n"
    for i in range(8):
        s += (f"  - name: s{i}\n    command: sh\n"
              f"    args: [\"-c\", \"{trap}sleep {{{{params.marker}}}} & sleep {{{{params.marker}}}}\"]\n")
    return s


def cwl_stop():
    s = ["cwlVersion: v1.2", "class: Workflow", "inputs:", "  marker: string", "outputs: []", "steps:"]
    for i in range(8):
        s += [f"  s{i}:", "    run: sleeper.cwl", "    in: {marker: marker}", "    out: []"]
    return "\n".join(s) + "\n"


write("sluice/chain1.yaml", sluice_chain(1))
write(f"sluice/chain{CHAIN}.yaml", sluice_chain(CHAIN))
write(f"sluice/fan{FAN_MID + 2}.yaml", sluice_fan(FAN_MID))
write("sluice/stop8.yaml", sluice_stop(False))
write("sluice/stop8-ignore-term.yaml", sluice_stop(True))
write("cwl/chain1.cwl", cwl_chain(1))
write(f"cwl/chain{CHAIN}.cwl", cwl_chain(CHAIN))
write(f"cwl/fan{FAN_MID + 2}.cwl", cwl_fan(FAN_MID))
write("cwl/stop8.cwl", cwl_stop())
