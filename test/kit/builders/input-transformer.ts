/**
 * Renders an EventBridge input transformer as EventBridge does for a text template: each <name>
 * of InputPathsMap is replaced by the value at its JSON path in the event (a missing path gives an
 * empty string), and the template, a JSON string literal, becomes the delivered text.
 */
export function renderInputTransformer(
  transformer: { InputTemplate: string; InputPathsMap: Record<string, string> },
  event: unknown,
): string {
  const text = transformer.InputTemplate.replace(/<([A-Za-z0-9_.-]+)>/g, (placeholder, name: string) => {
    const jsonPath = transformer.InputPathsMap[name];
    if (jsonPath === undefined) return placeholder;
    let value: unknown = event;
    for (const part of jsonPath.replace(/^\$\./, '').split('.')) {
      value =
        typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[part] : undefined;
    }
    return value === undefined || value === null ? '' : String(value);
  });
  return JSON.parse(text) as string;
}
