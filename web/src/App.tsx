import { AppShell, Burger, Button, Group, NavLink, Text, Title } from "@mantine/core";
import { useDisclosure, useMediaQuery } from "@mantine/hooks";
import { useEffect, useState } from "react";
import { Navigate, Route, NavLink as RouterNavLink, Routes, useLocation } from "react-router";
import { loadSession, logOut, type Session, setUnauthenticatedHandler } from "./api";
import classes from "./app.module.css";
import { AuthContext, useAuth } from "./auth";
import { ErrorAlert, Loading, notifyError, PageErrorBoundary } from "./components";
import { AddConnectionPage } from "./pages/AddConnection";
import { ConnectionPage } from "./pages/Connection";
import { ConnectionsPage } from "./pages/Connections";
import { ExternalObjectsPage } from "./pages/ExternalObjects";
import { HistoryPage } from "./pages/History";
import { JobPage } from "./pages/Job";
import { JobsPage } from "./pages/Jobs";
import { LoginPage } from "./pages/Login";
import { RunPage } from "./pages/Run";
import { SettingsPage } from "./pages/Settings";
import { TaskEditorPage } from "./pages/TaskEditor";

export function App() {
  const [session, setSession] = useState<Session | null | undefined>(undefined);
  const [error, setError] = useState<unknown>();
  useEffect(() => {
    setUnauthenticatedHandler(() => setSession(null));
    loadSession().then(setSession, setError);
  }, []);
  if (error) return <ErrorAlert error={error} title="Cannot reach bitbridge" />;
  if (session === undefined) return <Loading label="Checking the session" />;
  return (
    <AuthContext.Provider value={{ session, setSession }}>
      <Routes>
        <Route path="/login" element={<LoginPage />} />
        <Route path="*" element={session ? <Shell /> : <RedirectToLogin />} />
      </Routes>
    </AuthContext.Provider>
  );
}

function RedirectToLogin() {
  const location = useLocation();
  const next = `${location.pathname}${location.search}`;
  return <Navigate to={`/login?next=${encodeURIComponent(next)}`} replace />;
}

const NAV = [
  { to: "/connections", label: "Connections" },
  { to: "/jobs", label: "Jobs" },
  { to: "/history", label: "History" },
  { to: "/external-objects", label: "External Objects" },
  { to: "/settings", label: "Settings" },
];

function Shell() {
  const [opened, { toggle, close }] = useDisclosure(false);
  // Below the breakpoint a closed menu is only moved off screen: hide it from keyboard and screen readers too.
  const narrow = useMediaQuery("(max-width: 48em)");
  const { session } = useAuth();
  const location = useLocation();
  // A narrow window shows the menu over the page: close it once a page is chosen.
  // biome-ignore lint/correctness/useExhaustiveDependencies: runs on every navigation
  useEffect(close, [location.pathname]);

  const onLogOut = async () => {
    try {
      await logOut();
      // A fresh page: nothing of the session stays in memory, and the next login starts at the top.
      window.location.assign("/login");
    } catch (e) {
      notifyError(e, "Log out failed");
    }
  };

  return (
    <AppShell
      header={{ height: 56 }}
      navbar={{ width: 220, breakpoint: "sm", collapsed: { mobile: !opened } }}
      padding="md"
    >
      <AppShell.Header>
        <a href="#main-content" className={classes.skipLink}>
          Skip to content
        </a>
        <Group h="100%" px="md" justify="space-between" wrap="nowrap">
          <Group gap="sm" wrap="nowrap">
            <Burger
              opened={opened}
              onClick={toggle}
              hiddenFrom="sm"
              size="sm"
              aria-label={opened ? "Close navigation" : "Open navigation"}
              aria-expanded={opened}
              aria-controls="main-navigation"
            />
            <Text fw={700} size="lg" component="span">
              bitbridge
            </Text>
          </Group>
          <Group gap="sm" wrap="nowrap">
            <Text size="sm" c="dimmed" visibleFrom="xs">
              {session?.username}
            </Text>
            <Button variant="default" size="xs" onClick={onLogOut}>
              Log out
            </Button>
          </Group>
        </Group>
      </AppShell.Header>
      <AppShell.Navbar
        p="sm"
        component="nav"
        id="main-navigation"
        aria-label="Main"
        style={narrow && !opened ? { visibility: "hidden" } : undefined}
      >
        {NAV.map((item) => (
          <NavLink
            key={item.to}
            component={RouterNavLink}
            to={item.to}
            label={item.label}
            active={location.pathname.startsWith(item.to)}
          />
        ))}
      </AppShell.Navbar>
      <AppShell.Main id="main-content" tabIndex={-1}>
        <PageErrorBoundary key={location.pathname}>
          <Routes>
            <Route path="/" element={<Navigate to="/connections" replace />} />
            <Route path="/connections" element={<ConnectionsPage />} />
            <Route path="/connections/new" element={<AddConnectionPage />} />
            <Route path="/connections/:name" element={<ConnectionPage />} />
            <Route path="/jobs" element={<JobsPage />} />
            <Route path="/jobs/:name" element={<JobPage />} />
            <Route path="/jobs/:name/tasks/:position" element={<TaskEditorPage />} />
            <Route path="/history" element={<HistoryPage />} />
            <Route path="/history/:id" element={<RunPage />} />
            <Route path="/external-objects" element={<ExternalObjectsPage />} />
            <Route path="/settings" element={<SettingsPage />} />
            <Route path="*" element={<NotFound />} />
          </Routes>
        </PageErrorBoundary>
      </AppShell.Main>
    </AppShell>
  );
}

function NotFound() {
  return (
    <>
      <Title order={1}>Page not found</Title>
      <Text mt="sm">There is nothing at {useLocation().pathname}. Pick a page from the menu.</Text>
    </>
  );
}
