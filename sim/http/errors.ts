/**
 * Bitbucket's error envelope: `{"type":"error","error":{"message":...,"detail":...,"data":...}}`.
 * Every failure the simulator serves goes through this type, so bodies always match the spec.
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly detail?: string,
    readonly data?: Record<string, unknown>,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }

  envelope(): ErrorEnvelope {
    const error: ErrorEnvelope["error"] = { message: this.message };
    if (this.detail !== undefined) error.detail = this.detail;
    if (this.data !== undefined) error.data = this.data;
    return { type: "error", error };
  }
}

export interface ErrorEnvelope {
  type: "error";
  error: { message: string; detail?: string; data?: Record<string, unknown> };
}

const DOCS = "https://developer.atlassian.com/bitbucket/api/2/reference/";

export const errors = {
  noApi: () =>
    new ApiError(
      404,
      "Resource not found",
      `There is no API hosted at this URL.\n\nFor information about our API's, please refer to the documentation at: ${DOCS}`,
    ),
  notFound: (message: string, detail?: string) => new ApiError(404, message, detail),
  badRequest: (message: string, detail?: string) => new ApiError(400, message, detail),
  invalidPagelen: () => new ApiError(400, "Invalid pagelen"),
  unauthorized: (message: string, detail?: string) =>
    new ApiError(401, message, detail, undefined, {
      "WWW-Authenticate": 'Bearer realm="Bitbucket.org HTTP"',
    }),
  forbidden: (message: string, detail?: string, data?: Record<string, unknown>) =>
    new ApiError(403, message, detail, data),
  gone: (message: string, detail?: string) => new ApiError(410, message, detail),
  rateLimited: () => new ApiError(429, "Rate limit for this resource has been exceeded"),
  methodNotAllowed: () => new ApiError(405, "Method not allowed"),
  server: (status: number) => new ApiError(status, "Something went wrong", "Simulated server fault"),
};
