/**
 * If with a constant condition (an initializer or a Constant node: fixed
 * when the model was built, never a value the probe happened to see, which
 * could change with the input) is replaced by the branch it always takes,
 * its nodes inlined under fresh names. Any other If, and Loop and Scan, stay
 * as they are: their models get finite differences, and coverage names them.
 */
import type { NodeProto, TensorProto } from '../../onnx/types';
import { attrGraph, nodeLabel } from '../../onnx/attributes';
import { tensorToArray } from '../../onnx/tensor';
import { GradientError } from '../emitter';
import { registerLowering } from './registry';

registerLowering('If', (c) => {
  const e = c.e;
  const cond = e.index.constantValue(c.x[0]);
  if (!cond) throw new GradientError(`${nodeLabel(c.node)}: its condition '${c.x[0]}' is computed at run time; only an If with a constant condition is inlined`);
  const value = Array.from(tensorToArray(cond) as ArrayLike<number | bigint | boolean>, Number);
  if (value.length !== 1) throw new GradientError(`${nodeLabel(c.node)}: its condition holds ${value.length} values, not one`);
  const branch = attrGraph(c.node, value[0] ? 'then_branch' : 'else_branch');
  if (!branch) throw new GradientError(`${nodeLabel(c.node)}: the ${value[0] ? 'then' : 'else'} branch is missing`);
  if ((branch.node ?? []).some((n) => (n.attribute ?? []).some((a) => a.g || a.graphs?.length))) {
    throw new GradientError(`${nodeLabel(c.node)}: its branch holds nested subgraphs, which are not inlined`);
  }
  // the branch's own names get fresh ones; outer-scope names are read as they are
  const renamed = new Map<string, string>();
  const local = (name: string) => {
    let r = renamed.get(name);
    if (!r) {
      r = e.fresh(`if/${name}`);
      renamed.set(name, r);
    }
    return r;
  };
  for (const t of branch.initializer ?? []) e.initializers.push({ ...t, name: local(t.name ?? '') } as TensorProto);
  for (const n of branch.node ?? []) for (const o of n.output ?? []) if (o) local(o);
  for (const n of branch.node ?? []) {
    e.nodes.push({
      ...n,
      name: e.fresh(`if/${n.name || n.opType}`),
      input: (n.input ?? []).map((i) => (i ? renamed.get(i) ?? i : i)),
      output: (n.output ?? []).map((o) => (o ? renamed.get(o)! : o)),
    } as NodeProto);
  }
  return (branch.output ?? []).map((o) => renamed.get(o.name ?? '') ?? o.name);
}, { applies: (node, index) => !!index.constantValue(node.input?.[0] ?? '') });
