/**
 * `$metadata?$format=json`: the model in the CSDL JSON representation (OData CSDL JSON 4.01), with the same
 * references and annotations as the XML document.
 *
 * `$Version` is `4.0`, the protocol version the service speaks and the XML document declares; the JSON format
 * itself is defined by the 4.01 specification, whose schema accepts both.
 *
 * JSON's defaults differ from XML's: an absent `$Nullable` means false, so only nullable properties carry it.
 */
import {
  type Annotation,
  checkModel,
  containerAnnotations,
  descriptionAnnotations,
  entitySetAnnotations,
  VOCABULARIES,
} from "./csdl-xml.js";
import type { EdmModel, EdmProperty, EntitySet } from "./model.js";

export type CsdlJson = { [member: string]: unknown };

/** The CSDL JSON document describing the model. */
export function toCsdlJson(model: EdmModel): CsdlJson {
  checkModel(model);
  const references: CsdlJson = {};
  for (const vocabulary of VOCABULARIES) {
    references[vocabulary.uri.replace(/\.xml$/, ".json")] = {
      $Include: [{ $Namespace: vocabulary.namespace, $Alias: vocabulary.alias }],
    };
  }
  const schema: CsdlJson = {};
  for (const set of model.entitySets) schema[set.name] = entityType(set);
  const container: CsdlJson = { $Kind: "EntityContainer" };
  for (const set of model.entitySets) {
    container[set.name] = {
      $Collection: true,
      $Type: `${model.namespace}.${set.name}`,
      ...annotationMembers(entitySetAnnotations(set)),
    };
  }
  Object.assign(container, annotationMembers(containerAnnotations()));
  schema[model.container] = container;
  return {
    $Version: "4.0",
    $EntityContainer: `${model.namespace}.${model.container}`,
    $Reference: references,
    [model.namespace]: schema,
  };
}

function entityType(set: EntitySet): CsdlJson {
  const type: CsdlJson = { $Kind: "EntityType", $Key: [...set.key] };
  for (const property of set.properties) type[property.name] = propertyMembers(property);
  return Object.assign(type, annotationMembers(descriptionAnnotations(set)));
}

function propertyMembers(property: EdmProperty): CsdlJson {
  const members: CsdlJson = { $Type: property.type };
  if (property.nullable) members.$Nullable = true;
  if (property.maxLength !== undefined) members.$MaxLength = property.maxLength;
  if (property.precision !== undefined) members.$Precision = property.precision;
  if (property.scale !== undefined) members.$Scale = property.scale;
  return Object.assign(members, annotationMembers(descriptionAnnotations(property)));
}

function annotationMembers(list: readonly Annotation[]): CsdlJson {
  const members: CsdlJson = {};
  for (const { term, value } of list) {
    if ("bool" in value) members[`@${term}`] = value.bool;
    else if ("string" in value) members[`@${term}`] = value.string;
    else if ("enumMember" in value) members[`@${term}`] = value.enumMember.member;
    else members[`@${term}`] = { ...value.record };
  }
  return members;
}
