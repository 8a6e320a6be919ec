// SPDX-License-Identifier: ISC
//
// Start swagger-ui on /docs with the service's own OpenAPI document. The
// token obtained through "Authorize" stays in this page's memory only
// (persistAuthorization off), and "Try it out" calls this same origin.

window.ui = window.SwaggerUIBundle({
	url: '/openapi.json',
	dom_id: '#swagger-ui',
	deepLinking: true,
	presets: [window.SwaggerUIBundle.presets.apis],
	layout: 'BaseLayout',
	persistAuthorization: false,
	tryItOutEnabled: false,
	displayRequestDuration: true,
	defaultModelsExpandDepth: 0,
	validatorUrl: null,
});
