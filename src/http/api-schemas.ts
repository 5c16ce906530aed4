/**
 * Schemas the JSON routes of the HTTP listener share: the error answer, the answers every /api
 * route may give, an id in a path. Each route's own are beside it.
 */

/** An error answer: `{ error, message }`, and `field` when the request is at fault. */
export const ERROR = {
  type: 'object',
  required: ['error', 'message'],
  properties: {
    error: { type: 'string' },
    message: { type: 'string' },
    field: { type: 'string' },
  },
} as const;

/** The answers every /api route may give besides its own. */
export const API_FAILURES = {
  400: { ...ERROR, description: 'Invalid input; `field` names it' },
  401: { ...ERROR, description: 'Without the bearer token, when http.apiToken is set' },
} as const;

/** A positive integer id in the path. */
export const ID_PARAM = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'integer', minimum: 1 } },
} as const;
