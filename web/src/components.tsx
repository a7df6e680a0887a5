import { Alert, Badge, Center, Loader } from "@mantine/core";
import { notifications } from "@mantine/notifications";
import { Component, type ReactNode } from "react";
import { errorMessage } from "./api";
import classes from "./code-input.module.css";

export function ErrorAlert({ error, title = "Something went wrong" }: { error: unknown; title?: string }) {
  if (error === undefined || error === null) return null;
  return (
    <Alert color="red" title={title} role="alert" my="sm">
      {errorMessage(error)}
    </Alert>
  );
}

/** A form's error above its fields (field errors are also shown on their inputs). */
export function FormError({ error }: { error: unknown }) {
  if (error === undefined) return null;
  return (
    <Alert color="red" role="alert">
      {errorMessage(error)}
    </Alert>
  );
}

export function Loading({ label = "Loading" }: { label?: string }) {
  return (
    <Center py="xl" role="status" aria-label={label}>
      <Loader />
    </Center>
  );
}

const STATUS_COLORS: Record<string, string> = {
  RUNNING: "blue",
  SUCCEEDED: "green",
  FAILED: "red",
  SKIPPED: "gray",
  CANCELLED: "orange",
  CANCELLING: "orange",
  PENDING: "gray",
  QUEUED: "gray",
};

export function StatusBadge({ status }: { status: string }) {
  return (
    <Badge color={STATUS_COLORS[status.toUpperCase()] ?? "gray"} variant="light" miw="fit-content">
      {status.toLowerCase()}
    </Badge>
  );
}

export function notifyError(error: unknown, title = "Failed") {
  notifications.show({ color: "red", title, message: errorMessage(error), autoClose: 10_000 });
}

export function notifySuccess(message: string, title?: string) {
  notifications.show({ color: "green", title, message });
}

/** For inputs holding SQL: the text itself in a monospace font (the `ff` prop would style the label). */
export const CODE_INPUT = { input: classes.code };

/** A page that fails to render says so (and the menu stays usable) instead of leaving a blank screen. */
export class PageErrorBoundary extends Component<{ children: ReactNode }, { error: unknown }> {
  override state = { error: undefined as unknown };

  static getDerivedStateFromError(error: unknown) {
    return { error };
  }

  override render() {
    if (this.state.error !== undefined) {
      return <ErrorAlert error={this.state.error} title="This page failed to display" />;
    }
    return this.props.children;
  }
}
