"""One definition per behaviour for a page and its JSON twin.

A *view* is a plain function with FastAPI-typed parameters (path and query values,
``PW``/``Comm``, ``RequireUser``, a body model …). It does the work once: permission
checks, the domain call, the mapping of domain errors to ``HTTPException``; it returns
the public model, or ``Shown(model, extra)`` when the page shows more than the model.
``@twin(router, Api(…), Page(…), CSRF)`` registers it twice::

    @twin(
        router,
        Api("POST /api/collections", CollectionSummary, 201, errors, "Create a collection"),
        Page("POST /collections", form=_create_form, respond=_created, failed=_create_failed),
        CSRF,
    )
    def create(comm: Comm, account: RequireAccount, data: CollectionCreate) -> CollectionSummary:
        return comm.collections.create(account.id, data)

* the JSON route (``Api``): in OpenAPI, with its response model, status code, error
  responses and summary; the view's docstring is the description. Errors answer
  ``{"detail": …}`` (the app's handlers); every 422 is an ``InvalidRequest`` (a route's
  own 422 keeps its description, not another model), and a route whose path names
  something documents 404. The answer is validated against the response model and
  serialised in the view's own thread (``_as_json``: the bytes FastAPI would make, one
  trip out of the event loop instead of two).
* the HTML route (``Page``, ``include_in_schema=False``): the same view, then the
  template chosen for it (``template`` + ``context``), or ``respond`` (the redirect of
  post/redirect/get, a page of its own). A ``POST`` page parses the submitted form into
  the view's arguments (``form``, e.g. with ``parse_form``: the same input model as the
  JSON body); ``failed`` answers the errors a page shows itself (the form again with its
  ``FormError`` messages); every other error reaches the app's error page, as on any
  page. ``Moved`` (a canonical id) redirects each side to its own route.

Cookies a view sets on its ``Response`` parameter (log in, log out) go out on both sides.
Routes with one side only (``/login``'s form page, ``/api/me``) stay plain routes.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Generic, Protocol, TypeVar

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.params import Depends as DependsParam
from pydantic import BaseModel, TypeAdapter, ValidationError
from starlette.responses import RedirectResponse, Response

from paperwire.models.common import ErrorPublic, InvalidRequest
from paperwire.web.templating import render

M = TypeVar("M")
V = TypeVar("V", bound=Callable[..., Any])


class Register(Protocol):
    """What ``twin`` returns: a decorator that registers a view and returns it unchanged."""

    def __call__(self, view: V, /) -> V: ...


@dataclass(frozen=True)
class Shown(Generic[M]):
    """A view's public model plus what only its page shows (never serialised)."""

    model: M
    extra: dict[str, Any] = field(default_factory=dict)


class FormError(HTTPException):
    """A refused form: ``errors`` maps each field to its message, shown beside it on the
    page; the JSON twin answers ``status_code`` with the messages joined."""

    def __init__(
        self, errors: dict[str, str], status_code: int = 422, detail: str | None = None
    ) -> None:
        super().__init__(status_code=status_code, detail=detail or "; ".join(errors.values()))
        self.errors = errors


class Moved(HTTPException):
    """The resource answers at other path parameters (e.g. a canonical id): each side
    redirects to its own route with them (the page to the page, the JSON to the JSON)."""

    def __init__(self, status_code: int = 301, **path_params: str) -> None:
        super().__init__(status_code=status_code, detail="moved")
        self.path_params = path_params

    def redirect(self, path: str) -> Response:
        def value(m: re.Match[str]) -> str:
            return self.path_params[m[1]]

        return RedirectResponse(_PARAM.sub(value, path), status_code=self.status_code)


_PARAM = re.compile(r"\{(\w+)(?::\w+)?\}")


@dataclass
class Call:
    """One request to a page: its arguments for the view, and the form as submitted."""

    request: Request
    args: dict[str, Any]
    form: dict[str, str] = field(default_factory=dict)

    def value(self, name: str, default: str = "") -> str:
        """A submitted form field, as typed."""
        return self.form.get(name, default)


Context = Callable[[Call, Any], dict[str, Any]]
Errors = dict[int | str, dict[str, Any]]
"""The error responses of an operation, for OpenAPI: status → ``{"model": …, …}``."""


def _route(route: str) -> tuple[str, str]:
    """``"POST /api/x"`` → ``("POST", "/api/x")``; a bare path is a GET."""
    method, _, path = route.rpartition(" ")
    return method or "GET", path


@dataclass(frozen=True)
class Api:
    """The JSON side of a view: ``"METHOD /path"``, its response model, status code,
    error responses and summary (as ``APIRouter.add_api_route`` takes them)."""

    route: str
    model: Any = None
    status: int | None = None
    errors: Errors | None = None
    summary: str | None = None
    # The operation's name (OpenAPI ``operationId`` prefix); default: the view's + "_api".
    name: str | None = None
    # The OpenAPI description; default: the view's docstring ("" for none).
    description: str | None = None
    response_class: type[Response] | None = None
    # View arguments this route fixes (they are not parameters of the route).
    fixed: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Page:
    """The HTML side of a view: where it answers (``"METHOD /path"``, one or several) and
    how it shows the result.

    ``context(call, result)`` fills ``template`` (default: ``{"page": model}``) and
    ``json_href(call, result)`` is the page's link to its JSON twin; or ``respond(call,
    result)`` answers instead (the redirect after a form, a page with its own status).
    ``form(call)`` turns ``call.form`` into view arguments (raising ``FormError``);
    ``form_params`` names the view parameters it supplies (default: the view's body
    models). ``failed(call, exc)`` answers an error with a page (e.g. the form again with
    its errors), or returns None for the app's error page.
    """

    route: str | Sequence[str]
    template: str | None = None
    context: Context | None = None
    json_href: Callable[[Call, Any], str | None] | None = None
    respond: Callable[[Call, Any], Response] | None = None
    form: Callable[[Call], dict[str, Any]] | None = None
    form_params: Sequence[str] | None = None
    failed: Callable[[Call, HTTPException], Response | None] | None = None
    # View arguments this page fixes (they are not parameters of the route).
    fixed: Mapping[str, Any] = field(default_factory=dict)


def model_of(result: Any) -> Any:
    """The public model of a view's result."""
    return result.model if isinstance(result, Shown) else result


def form_errors(exc: ValidationError, labels: dict[str, str] | None = None) -> dict[str, str]:
    """Field → ``"Label: message"`` (the first message per field) of a refused model."""
    out: dict[str, str] = {}
    for err in exc.errors():
        name = str(err["loc"][0]) if err.get("loc") else "form"
        msg = str(err.get("msg", "invalid value")).removeprefix("Value error, ")
        out.setdefault(name, f"{(labels or {}).get(name, name)}: {msg}")
    return out


def parse_form(model: type[BaseModel], data: dict[str, Any], labels: dict[str, str]) -> Any:
    """``model`` from form values; ``FormError`` (422) naming each bad field."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise FormError(form_errors(exc, labels)) from None


async def _form_fields(request: Request) -> dict[str, str]:
    """The submitted form's text fields (files are not part of any paperwire form)."""
    form = await request.form()
    return {k: v for k, v in form.items() if isinstance(v, str)}


FormFields = Annotated[dict[str, str], Depends(_form_fields)]


def _body_params(sig: inspect.Signature) -> list[str]:
    """Parameters FastAPI reads from a JSON body: pydantic models without a marker."""
    names = []
    for p in sig.parameters.values():
        ann = p.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel) and p.default is p.empty:
            names.append(p.name)
    return names


def _response_params(sig: inspect.Signature) -> list[str]:
    return [
        p.name
        for p in sig.parameters.values()
        if isinstance(p.annotation, type) and issubclass(p.annotation, Response)
    ]


def _with_cookies(response: Response, sub: Response) -> Response:
    for key, value in sub.raw_headers:
        if key == b"set-cookie":
            response.raw_headers.append((key, value))
    return response


def _endpoint(
    fn: Callable[..., Any], name: str, doc: str | None, sig: inspect.Signature
) -> Callable[..., Any]:
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc
    fn.__signature__ = sig  # type: ignore[attr-defined]
    return fn


def twin(
    router: APIRouter,
    api: Api | Sequence[Api],
    page: Page | Sequence[Page] = (),
    *dependencies: DependsParam,
) -> Register:
    """Decorator: register the view as ``api`` (JSON, in OpenAPI) and as ``page`` (HTML);
    ``dependencies`` (e.g. ``CSRF``) apply to both. The view stays a plain function."""

    def register(view: V) -> V:
        sig = inspect.signature(view, eval_str=True)
        for one in [api] if isinstance(api, Api) else api:
            _add_json(router, view, one, sig, dependencies)
        for shown in [page] if isinstance(page, Page) else page:
            _add_page(router, view, shown, sig, dependencies)
        return view

    return register


def _add_json(
    router: APIRouter,
    view: Callable[..., Any],
    api: Api,
    sig: inspect.Signature,
    dependencies: Sequence[DependsParam] = (),
) -> None:
    method, path = _route(api.route)
    # Serialised here unless FastAPI must: a Response parameter's cookies, a custom class
    no_body = api.status == 204 or api.response_class is not None or api.model is None
    adapter = None if no_body or _response_params(sig) else TypeAdapter(api.model)

    def json_endpoint(**kwargs: Any) -> Any:
        try:
            result = model_of(view(**kwargs, **api.fixed))
        except Moved as moved:
            return moved.redirect(path)
        return result if adapter is None else _as_json(adapter, result, api.status)

    doc = view.__doc__ if api.description is None else api.description
    params = [p for p in sig.parameters.values() if p.name not in api.fixed]
    errors = _documented_errors(api.errors, path)
    endpoint = _endpoint(json_endpoint, view.__name__, doc, sig.replace(parameters=params))
    extra: dict[str, Any] = {}
    if api.response_class is not None:
        extra["response_class"] = api.response_class
    elif api.status == 204:
        extra["response_class"] = Response  # no body, so no content type either
    router.add_api_route(
        path,
        endpoint,
        methods=[method],
        response_model=api.model,
        status_code=api.status,
        responses=errors,
        summary=api.summary,
        dependencies=list(dependencies),
        name=api.name or f"{view.__name__}_api",
        **extra,
    )


def _as_json(adapter: TypeAdapter[Any], result: Any, status: int | None) -> Any:
    """The answer FastAPI makes of a result (validated against the response model, dumped
    by alias with pydantic's JSON writer, as FastAPI 0.165 does), made in the view's own
    thread. For a plain (sync) view FastAPI validates in a second trip: out to a thread
    and back to the event loop, where under load the request waits behind the loop's
    ready work while it holds its admission slot (``web.admission``). A result that
    fails validation goes back to FastAPI, which reports it as before."""
    if isinstance(result, Response):
        return result
    try:
        value = adapter.validate_python(result, from_attributes=True)
    except ValidationError:
        return result
    body = adapter.dump_json(value, by_alias=True)
    return Response(body, status_code=status or 200, media_type="application/json")


def _documented_errors(errors: Errors | None, path: str) -> Errors:
    """The error responses OpenAPI shows: 422 always as ``InvalidRequest``; 404 for a
    path with parameters (it names something that may not exist)."""
    out: Errors = dict(errors or {})
    for key in (422, "422"):
        if key in out:
            out[key] = {**out[key], "model": InvalidRequest}
    if "{" in path and 404 not in out and "404" not in out:
        out[404] = {"model": ErrorPublic, "description": "Nothing by that name or id."}
    return out


def _add_page(
    router: APIRouter,
    view: Callable[..., Any],
    page: Page,
    sig: inspect.Signature,
    dependencies: Sequence[DependsParam] = (),
) -> None:
    from_form = set(page.form_params if page.form_params is not None else _body_params(sig))
    if page.form is None:
        from_form = set()
    cookies = _response_params(sig)
    dropped = from_form | set(cookies) | set(page.fixed)
    params = [p for p in sig.parameters.values() if p.name not in dropped]
    # FastAPI passes the request to one parameter only: the view's own, if it has one.
    own = [p.name for p in params if p.annotation is Request]
    request_name = own[0] if own else "_twin_request"
    extra = []
    if not own:
        extra.append(
            inspect.Parameter(request_name, inspect.Parameter.KEYWORD_ONLY, annotation=Request)
        )
    if page.form is not None:
        extra.append(
            inspect.Parameter("_twin_form", inspect.Parameter.KEYWORD_ONLY, annotation=FormFields)
        )
    keyword = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in params]
    page_sig = inspect.Signature([*keyword, *extra], return_annotation=Response)
    routes = [_route(r) for r in ([page.route] if isinstance(page.route, str) else page.route)]

    def page_endpoint(**kwargs: Any) -> Response:
        request: Request = kwargs[request_name] if own else kwargs.pop(request_name)
        form = kwargs.pop("_twin_form", {})
        call = Call(request, {**kwargs, **page.fixed}, form)
        sub = Response()
        try:
            if page.form is not None:
                call.args.update(page.form(call))
            for name in cookies:
                call.args[name] = sub
            result = view(**call.args)
        except Moved as moved:
            return moved.redirect(routes[0][1])
        except HTTPException as exc:
            shown = page.failed(call, exc) if page.failed is not None else None
            if shown is None:
                raise
            return _with_cookies(shown, sub)
        if page.respond is not None:
            return _with_cookies(page.respond(call, result), sub)
        assert page.template is not None, f"page of {view.__name__} needs a template"
        context = (
            page.context(call, result) if page.context is not None else {"page": model_of(result)}
        )
        href = page.json_href(call, result) if page.json_href is not None else None
        response = render(request, page.template, context, json_href=href)
        return _with_cookies(response, sub)

    endpoint = _endpoint(page_endpoint, f"{view.__name__}_page", None, page_sig)
    for method, path in routes:
        router.add_api_route(
            path,
            endpoint,
            methods=[method],
            include_in_schema=False,
            response_class=Response,
            dependencies=list(dependencies),
        )
