/**
 * A synthesized Step Functions DefinitionString is an Fn::Join of literal text and references
 * ({"Ref":"X"}, {"Fn::GetAtt":["X","Arn"]}): these read it with each reference rendered.
 */
type Reference = { readonly Ref?: string; readonly 'Fn::GetAtt'?: readonly [string, string] };

function joinDefinition(definitionString: unknown, render: (reference: Reference) => string): string {
  const join = (definitionString as { 'Fn::Join': [string, unknown[]] })['Fn::Join'];
  return join[1].map((part) => (typeof part === 'string' ? part : render(part as Reference))).join('');
}

/** The definition as JSON, each reference a readable marker: {"Ref":"X"} → "<Ref:X>", {"Fn::GetAtt":["X","Arn"]} → "<X.Arn>". */
export function definitionOf(definitionString: unknown): Record<string, unknown> {
  const text = joinDefinition(definitionString, (p) => {
    if (p.Ref) return `<Ref:${p.Ref}>`;
    if (p['Fn::GetAtt']) return `<${p['Fn::GetAtt'][0]}.${p['Fn::GetAtt'][1]}>`;
    return '<?>';
  });
  return JSON.parse(text) as Record<string, unknown>;
}

/** The definition with its references resolved by `resolve` ("X" for a Ref, "X.Arn" for a GetAtt), ready to deploy elsewhere. */
export function renderDefinition(definitionString: unknown, resolve: (reference: string) => string): string {
  return joinDefinition(definitionString, (p) =>
    resolve(p.Ref ?? `${p['Fn::GetAtt']?.[0]}.${p['Fn::GetAtt']?.[1]}`),
  );
}
