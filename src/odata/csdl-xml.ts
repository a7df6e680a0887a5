/**
 * `$metadata` as CSDL XML 4.0, plus what the XML and JSON representations share: the vocabulary references, the
 * annotations each element carries, and the consistency checks a model must pass before it is published.
 *
 * Annotations: `Core.Description` from PostgreSQL comments (types and properties), and on each entity set the
 * Capabilities of a read-only replica: no insert, update or delete; `$count`, `$filter`, `$orderby`, `$top`,
 * `$skip`, `$select` and key access supported; `$search` where the type has searchable properties; no
 * `$expand`. The container declares Intermediate conformance (SALESFORCE-CONNECT.md §8). Salesforce ignores all
 * of them; generated clients (SAP Fiori, odata2ts) read them.
 */
import { BitbridgeError } from "../app/errors.js";
import type { EdmModel, EdmProperty, EntitySet } from "./model.js";

export interface Vocabulary {
  readonly namespace: string;
  readonly alias: string;
  /** Location of the vocabulary's CSDL XML; the JSON twin replaces `.xml` by `.json`. */
  readonly uri: string;
}

export const VOCABULARIES: readonly Vocabulary[] = [
  {
    namespace: "Org.OData.Core.V1",
    alias: "Core",
    uri: "https://oasis-tcs.github.io/odata-vocabularies/vocabularies/Org.OData.Core.V1.xml",
  },
  {
    namespace: "Org.OData.Capabilities.V1",
    alias: "Capabilities",
    uri: "https://oasis-tcs.github.io/odata-vocabularies/vocabularies/Org.OData.Capabilities.V1.xml",
  },
];

export type AnnotationValue =
  | { readonly bool: boolean }
  | { readonly string: string }
  /** `type` is the alias-qualified enumeration type, `member` one of its members. */
  | { readonly enumMember: { readonly type: string; readonly member: string } }
  /** A record of Boolean properties, which is all the Capabilities terms used here need. */
  | { readonly record: Readonly<Record<string, boolean>> };

export interface Annotation {
  /** Alias-qualified term, e.g. `Capabilities.CountRestrictions`. */
  readonly term: string;
  readonly value: AnnotationValue;
}

export const MODEL_ERROR_CODE = "ODATA_INVALID_MODEL";

/** Annotations of the entity container. */
export function containerAnnotations(): Annotation[] {
  return [
    {
      term: "Capabilities.ConformanceLevel",
      value: { enumMember: { type: "Capabilities.ConformanceLevelType", member: "Intermediate" } },
    },
  ];
}

/** Annotations of an entity set. */
export function entitySetAnnotations(set: EntitySet): Annotation[] {
  const record = (term: string, values: Record<string, boolean>): Annotation => ({
    term: `Capabilities.${term}`,
    value: { record: values },
  });
  const tag = (term: string): Annotation => ({ term: `Capabilities.${term}`, value: { bool: true } });
  return [
    record("InsertRestrictions", { Insertable: false }),
    record("UpdateRestrictions", { Updatable: false }),
    record("DeleteRestrictions", { Deletable: false }),
    record("CountRestrictions", { Countable: true }),
    record("FilterRestrictions", { Filterable: true }),
    record("SortRestrictions", { Sortable: true }),
    record("SearchRestrictions", { Searchable: set.properties.some((property) => property.searchable) }),
    record("ExpandRestrictions", { Expandable: false }),
    record("SelectSupport", { Supported: true }),
    tag("TopSupported"),
    tag("SkipSupported"),
    tag("IndexableByKey"),
  ];
}

/** Annotations of an entity type or property. */
export function descriptionAnnotations(element: { readonly description?: string }): Annotation[] {
  return element.description === undefined
    ? []
    : [{ term: "Core.Description", value: { string: element.description } }];
}

/**
 * Throws unless the model can be published: entity type names share the schema with the container, so they
 * must differ from it and from each other, and every key must name non-nullable properties of its type.
 */
export function checkModel(model: EdmModel): void {
  const fail = (message: string, details: Record<string, unknown>): never => {
    throw new BitbridgeError(MODEL_ERROR_CODE, message, details, 500);
  };
  const names = new Set<string>([model.container]);
  for (const set of model.entitySets) {
    if (names.has(set.name))
      fail(`entity set name ${set.name} is used twice in the model (or is the container's name)`, {
        name: set.name,
      });
    names.add(set.name);
    const properties = new Map(set.properties.map((property) => [property.name, property]));
    if (properties.size !== set.properties.length)
      fail(`entity set ${set.name} has two properties with the same name`, { name: set.name });
    if (set.key.length === 0) fail(`entity set ${set.name} has no key`, { name: set.name });
    for (const name of set.key) {
      const property = properties.get(name);
      if (property === undefined || property.nullable)
        fail(`key ${name} of entity set ${set.name} is not a non-nullable property`, {
          name: set.name,
          key: name,
        });
    }
  }
}

/** The CSDL XML document (`application/xml`) describing the model. */
export function toCsdlXml(model: EdmModel): string {
  checkModel(model);
  const lines: string[] = [
    `<?xml version="1.0" encoding="utf-8"?>`,
    `<edmx:Edmx xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx" Version="4.0">`,
  ];
  for (const vocabulary of VOCABULARIES) {
    lines.push(
      `  <edmx:Reference Uri="${attr(vocabulary.uri)}">`,
      `    <edmx:Include Namespace="${attr(vocabulary.namespace)}" Alias="${attr(vocabulary.alias)}"/>`,
      `  </edmx:Reference>`,
    );
  }
  lines.push(
    `  <edmx:DataServices>`,
    `    <Schema xmlns="http://docs.oasis-open.org/odata/ns/edm" Namespace="${attr(model.namespace)}">`,
  );
  for (const set of model.entitySets) entityType(lines, set);
  lines.push(`      <EntityContainer Name="${attr(model.container)}">`);
  for (const set of model.entitySets) {
    lines.push(
      `        <EntitySet Name="${attr(set.name)}" EntityType="${attr(`${model.namespace}.${set.name}`)}">`,
    );
    annotations(lines, entitySetAnnotations(set), "          ");
    lines.push(`        </EntitySet>`);
  }
  annotations(lines, containerAnnotations(), "        ");
  lines.push(`      </EntityContainer>`, `    </Schema>`, `  </edmx:DataServices>`, `</edmx:Edmx>`, "");
  return lines.join("\n");
}

function entityType(lines: string[], set: EntitySet): void {
  lines.push(`      <EntityType Name="${attr(set.name)}">`, `        <Key>`);
  for (const name of set.key) lines.push(`          <PropertyRef Name="${attr(name)}"/>`);
  lines.push(`        </Key>`);
  for (const property of set.properties) {
    const open = `        <Property${propertyAttributes(property)}`;
    const notes = descriptionAnnotations(property);
    if (notes.length === 0) {
      lines.push(`${open}/>`);
    } else {
      lines.push(`${open}>`);
      annotations(lines, notes, "          ");
      lines.push(`        </Property>`);
    }
  }
  annotations(lines, descriptionAnnotations(set), "        ");
  lines.push(`      </EntityType>`);
}

function propertyAttributes(property: EdmProperty): string {
  const attributes: Array<[string, string]> = [
    ["Name", property.name],
    ["Type", property.type],
    ["Nullable", String(property.nullable)],
  ];
  if (property.maxLength !== undefined) attributes.push(["MaxLength", String(property.maxLength)]);
  if (property.precision !== undefined) attributes.push(["Precision", String(property.precision)]);
  if (property.scale !== undefined) attributes.push(["Scale", String(property.scale)]);
  return attributes.map(([name, value]) => ` ${name}="${attr(value)}"`).join("");
}

function annotations(lines: string[], list: readonly Annotation[], indent: string): void {
  for (const { term, value } of list) {
    const open = `${indent}<Annotation Term="${attr(term)}"`;
    if ("bool" in value) lines.push(`${open} Bool="${value.bool}"/>`);
    else if ("string" in value) lines.push(`${open} String="${attr(value.string)}"/>`);
    else if ("enumMember" in value)
      lines.push(`${open} EnumMember="${attr(`${value.enumMember.type}/${value.enumMember.member}`)}"/>`);
    else {
      lines.push(`${open}>`, `${indent}  <Record>`);
      for (const [property, bool] of Object.entries(value.record))
        lines.push(`${indent}    <PropertyValue Property="${attr(property)}" Bool="${bool}"/>`);
      lines.push(`${indent}  </Record>`, `${indent}</Annotation>`);
    }
  }
}

const ATTRIBUTE_ESCAPES: Readonly<Record<string, string>> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&apos;",
  // Parsers turn literal whitespace in attribute values into spaces; character references survive.
  "\t": "&#9;",
  "\n": "&#10;",
  "\r": "&#13;",
};

/**
 * An attribute value: markup and whitespace escaped, and characters XML 1.0 cannot carry at all (control
 * characters, lone surrogates, U+FFFE/U+FFFF, which a comment may contain) replaced by U+FFFD.
 */
export function attr(value: string): string {
  return value
    .replace(/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, "\uFFFD")
    .replace(/[&<>"'\t\n\r]/g, (char) => ATTRIBUTE_ESCAPES[char] as string);
}
