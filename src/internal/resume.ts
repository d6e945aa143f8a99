import type * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as Option from "effect/Option"

const parse = (value: string | null | undefined): Option.Option<number> =>
  value !== null && value !== undefined && /^\s*\d+\s*$/.test(value) ? Option.some(Number(value)) : Option.none()

/**
 * The event id a client asks to resume after: the `Last-Event-ID` header (sent by `EventSource` when it
 * reconnects), else a `lastEventId` query parameter. `None` when neither is a non-negative integer.
 */
export const lastEventId = (request: HttpServerRequest.HttpServerRequest): Option.Option<number> =>
  Option.orElse(
    parse(request.headers["last-event-id"]),
    () => parse(new URL(request.url, "http://localhost").searchParams.get("lastEventId"))
  )
