/**
 * GitHub's REST search (`GET /search/repositories`, `GET /search/issues`), as documented: `q`, `per_page`,
 * `page`, the `Link` header for the next page, and the `x-ratelimit-*` headers on a 403 or 429.
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import { type ClientOptions, decodeJson, get, okBody } from "./http.js"
import {
  type GitHubParameters,
  limitOf,
  pageOf,
  type SearchError,
  type SearchPage,
  type Source
} from "./model.js"
import { collapse, isoDate, truncate } from "./text.js"

export interface GitHubOptions extends ClientOptions {
  /** Default: "https://api.github.com". */
  readonly baseUrl: string
  /** Raises the search limit from 10 to 30 requests a minute. */
  readonly token?: Redacted.Redacted<string> | undefined
}

const text = Schema.optional(Schema.NullOr(Schema.String))

const Repository = Schema.Struct({
  full_name: Schema.String,
  html_url: Schema.String,
  description: text,
  language: text,
  stargazers_count: Schema.optional(Schema.Number),
  pushed_at: text,
  updated_at: text
})

const Issue = Schema.Struct({
  title: Schema.String,
  html_url: Schema.String,
  number: Schema.optional(Schema.Number),
  state: Schema.optional(Schema.String),
  body: text,
  created_at: text,
  repository_url: Schema.optional(Schema.String),
  pull_request: Schema.optional(Schema.Unknown)
})

const results = <A, I>(item: Schema.Schema<A, I>) =>
  Schema.Struct({ total_count: Schema.Int, incomplete_results: Schema.Boolean, items: Schema.Array(item) })

const repositorySource = (repo: typeof Repository.Type): Source => {
  const date = isoDate(repo.pushed_at) ?? isoDate(repo.updated_at)
  const facts = [
    repo.stargazers_count === undefined ? undefined : `${repo.stargazers_count} stars`,
    repo.language ?? undefined
  ].filter((fact) => fact !== undefined)
  const description = collapse(repo.description ?? "") || "No description."
  return {
    title: repo.full_name,
    url: repo.html_url,
    ...(date === undefined ? {} : { date }),
    snippet: truncate(facts.length === 0 ? description : `${description} (${facts.join(", ")})`)
  }
}

const issueSource = (issue: typeof Issue.Type): Source => {
  const repo = issue.repository_url?.match(/\/repos\/([^/]+\/[^/]+)$/)?.[1]
  const reference = repo === undefined || issue.number === undefined ? "" : ` (${repo}#${issue.number})`
  const date = isoDate(issue.created_at)
  const kind = issue.pull_request === undefined ? "Issue" : "Pull request"
  const state = issue.state === undefined ? "" : `, ${issue.state}`
  return {
    title: `${collapse(issue.title)}${reference}`,
    url: issue.html_url,
    ...(date === undefined ? {} : { date }),
    snippet: truncate(`${kind}${state}. ${collapse(issue.body ?? "")}`.trim())
  }
}

/** The page of the `rel="next"` link, when there is one. */
export const nextPageOf = (link: string | undefined): number | undefined => {
  const next = link?.split(",").find((part) => /;\s*rel="?next"?/.test(part))
  const page = next?.match(/[?&]page=(\d+)/)?.[1]
  return page === undefined ? undefined : Number(page)
}

export const make = (
  client: HttpClient.HttpClient,
  options: GitHubOptions
): (params: GitHubParameters) => Effect.Effect<SearchPage, SearchError> => {
  const headers = {
    accept: "application/vnd.github+json",
    "x-github-api-version": "2022-11-28",
    ...(options.token === undefined ? {} : { authorization: `Bearer ${Redacted.value(options.token)}` })
  }
  return (params) =>
    Effect.gen(function*() {
      const limit = limitOf(params)
      const page = pageOf(params)
      if (params.query.trim() === "") return { sources: [], page, total: 0 }
      const fetched = yield* get(client, "github", options, `${options.baseUrl}/search/${params.kind}`, {
        q: params.query.trim(),
        per_page: String(limit),
        page: String(page)
      }, headers)
      const body = yield* okBody("github", fetched)
      const { sources, total } = yield* (params.kind === "repositories"
        ? Effect.map(decodeJson("github", results(Repository), fetched, body), (found) => ({
          total: found.total_count,
          sources: found.items.map(repositorySource)
        }))
        : Effect.map(decodeJson("github", results(Issue), fetched, body), (found) => ({
          total: found.total_count,
          sources: found.items.map(issueSource)
        })))
      const nextPage = nextPageOf(fetched.headers["link"])
      return { sources, page, total, ...(nextPage === undefined ? {} : { nextPage }) }
    })
}
