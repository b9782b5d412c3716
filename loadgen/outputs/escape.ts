// Escaping for text and attribute values in the XML and HTML the load generator writes
// (junit.xml, report.html, SVG charts): & < > " and ' as character references.
export function escapeMarkup(x: unknown): string {
  return String(x).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}
