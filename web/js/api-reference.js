// The interactive API reference: Swagger UI, self-hosted (node_modules/swagger-ui-dist), on the document this
// gateway serves. Nothing leaves the origin: no validator badge (validatorUrl null), no remote $ref, no fonts.
// Deferred after the bundle: the document is parsed and SwaggerUIBundle defined when this runs.
window.SwaggerUIBundle({
  url: "/api/v1/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  validatorUrl: null,
  displayOperationId: true,
  displayRequestDuration: true,
  defaultModelsExpandDepth: 0,
  docExpansion: "list",
  tryItOutEnabled: false,
});
