export { decodeComponent } from "./decode.js";
export { parseFilter, parseOrderBy } from "./expression.js";
export { parseKeyPredicate } from "./key-predicate.js";
export { MAX_DEPTH, MAX_NODES, MAX_OPTION_LENGTH, MAX_TOP } from "./limits.js";
export { parseQueryOptions } from "./options.js";
export { parseSearch } from "./search.js";
