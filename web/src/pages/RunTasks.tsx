import { Table, Text } from "@mantine/core";
import { StatusBadge } from "../components";
import { count, duration } from "../format";
import type { RunTask } from "../types";

/**
 * The tasks of a run: the essentials while following a run or glancing at the history, every counter
 * on the run's own page.
 */
export function RunTasks({ tasks, detailed = false }: { tasks: RunTask[]; detailed?: boolean }) {
  return (
    <Table.ScrollContainer minWidth={detailed ? 900 : 560}>
      <Table striped={detailed}>
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Task</Table.Th>
            <Table.Th>{detailed ? "Source table" : "Table"}</Table.Th>
            {detailed && <Table.Th>Destination table</Table.Th>}
            <Table.Th>Status</Table.Th>
            <Table.Th>Rows read</Table.Th>
            {detailed && (
              <>
                <Table.Th>Inserted</Table.Th>
                <Table.Th>Updated</Table.Th>
                <Table.Th>Unchanged</Table.Th>
                <Table.Th>Deleted</Table.Th>
              </>
            )}
            <Table.Th>Requests</Table.Th>
            <Table.Th>Duration</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {tasks.map((t) => (
            <Table.Tr key={t.position}>
              <Table.Td>{t.position}</Table.Td>
              <Table.Td>
                {detailed ? (t.sourceTable ?? "–") : (t.destinationTable ?? t.sourceTable ?? t.statement)}
              </Table.Td>
              {detailed && <Table.Td>{t.destinationTable ?? "–"}</Table.Td>}
              <Table.Td>
                <StatusBadge status={t.status} />
                {detailed && t.error && (
                  <Text size="xs" c="red">
                    {t.error}
                  </Text>
                )}
              </Table.Td>
              <Table.Td>{count(t.rowsRead)}</Table.Td>
              {detailed && (
                <>
                  <Table.Td>{count(t.inserted)}</Table.Td>
                  <Table.Td>{count(t.updated)}</Table.Td>
                  <Table.Td>{count(t.unchanged)}</Table.Td>
                  <Table.Td>{count(t.deleted)}</Table.Td>
                </>
              )}
              <Table.Td>{count(t.requests)}</Table.Td>
              <Table.Td>{duration(t.durationMs)}</Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Table.ScrollContainer>
  );
}
