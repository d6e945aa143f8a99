/**
 * multi-agent-orchestration: multi-agent LLM workflows on Effect.
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as Agent from "./Agent.js"
/** @since 0.1.0 */
export * as AgentError from "./AgentError.js"
/** @since 0.1.0 */
export * as AgentResult from "./AgentResult.js"
/** @since 0.1.0 */
export * as AgentType from "./AgentType.js"
/** @since 0.1.0 */
export * as CostSummary from "./CostSummary.js"
/** @since 0.1.0 */
export * as CostTracker from "./CostTracker.js"
/** @since 0.1.0 */
export * as DreamCascade from "./DreamCascade.js"
/** @since 0.1.0 */
export * as DreamSwarm from "./DreamSwarm.js"
/** @since 0.1.0 */
export * as EventHub from "./EventHub.js"
/** @since 0.1.0 */
export * as Format from "./Format.js"
/** @since 0.1.0 */
export * as Orchestrator from "./Orchestrator.js"
/** @since 0.1.0 */
export * as OrchestratorConfig from "./OrchestratorConfig.js"
/** @since 0.1.0 */
export * as OrchestratorError from "./OrchestratorError.js"
/** @since 0.1.0 */
export * as OrchestratorEvent from "./OrchestratorEvent.js"
/** @since 0.1.0 */
export * as OrchestratorResult from "./OrchestratorResult.js"
/** @since 0.1.0 */
export * as Pricing from "./Pricing.js"
/** @since 0.1.0 */
export * as Progress from "./Progress.js"
/** @since 0.1.0 */
export * as ProgressBar from "./ProgressBar.js"
/** @since 0.1.0 */
export * as Provider from "./Provider.js"
/** @since 0.1.0 */
export * as ProviderError from "./ProviderError.js"
/** @since 0.1.0 */
export * as Report from "./Report.js"
/** @since 0.1.0 */
export * as Retry from "./Retry.js"
/** @since 0.2.0 */
export * as RunStore from "./RunStore.js"
export * as Cluster from "./Cluster.js"
/** @since 0.1.0 */
export * as Sse from "./Sse.js"
/** @since 0.1.0 */
export * as SubTask from "./SubTask.js"
/** @since 0.1.0 */
export * as SynthesisResult from "./SynthesisResult.js"
/** @since 0.1.0 */
export * as TaskStatus from "./TaskStatus.js"
/** @since 0.1.0 */
export * as Telemetry from "./Telemetry.js"
/** @since 0.1.0 */
export * as Usage from "./Usage.js"
/** @since 0.1.0 */
export * as WebSocket from "./WebSocket.js"
/** @since 0.1.0 */
export * as Workflow from "./Workflow.js"
